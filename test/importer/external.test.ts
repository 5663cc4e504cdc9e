/**
 * Servers outside the compose project (importer/translate/external.ts): which mentions become an
 * external component, how it is named, what its clients get, and bad input that must still import.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatWarning, importCompose } from '../../importer/import';

async function run(services: Record<string, unknown>, files: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-external-'));
  writeFileSync(join(dir, 'compose.yaml'), JSON.stringify({ services }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  // importCompose validates the spec it writes: every case here also proves the output is a valid spec.
  const r = await importCompose({ files: [join(dir, 'compose.yaml')], environment: {} });
  return { ...r, c: r.spec.components as Record<string, any>, w: r.warnings.map(formatWarning) };
}

const app = (environment: unknown, extra: Record<string, unknown> = {}) => ({ image: 'ghcr.io/acme/app:1.0.0', expose: ['8000'], environment, ...extra });
const externals = (c: Record<string, any>) => Object.fromEntries(Object.entries(c).filter(([, v]) => v.external));

describe('external servers from compose', () => {
  it('a Redis URL with a password: external redis with password, the relation, the URL kept as the app reads it', async () => {
    const { c, w, secrets } = await run({ app: app({ REDIS_URL: 'rediss://:${REDIS_PASSWORD}@cache.example.net:6380/3' }) });
    expect(externals(c)).toEqual({ cache: { kind: 'redis', external: { host: 'cache.example.net', port: 6380 }, password: true } });
    expect(c.app.env.REDIS_URL).toBe('rediss://:$(REDIS_PASSWORD)@cache.example.net:6380/3');
    expect(c.app.secretEnv.REDIS_PASSWORD).toEqual({ secret: 'cache-auth', key: 'password' });
    expect(c.app.uses).toEqual([{ to: 'cache', redisDb: 3, scheme: 'rediss', env: 'REDIS_SERVICE_URL' }]);
    expect(c.app.egress).toBeUndefined();
    expect(secrets).toEqual([{ secret: 'cache-auth', key: 'password', from: '${REDIS_PASSWORD} (environment of app)' }]);
    expect(w).toContain('app: environment.REDIS_URL: Redis at cache.example.net:6380 is outside the project: it becomes the external component cache; provide the password the server expects in the Secret cache-auth');
  });

  it('PostgreSQL by host and port variables (PGHOST, or DB_HOST with an engine setting), the query of a URL kept', async () => {
    const { c } = await run({
      libpq: app({ PGHOST: 'Warehouse.Example.com', PGPORT: '6432', PGUSER: 'etl', PGPASSWORD: '${PGPASSWORD}', PGDATABASE: 'warehouse' }),
      django: app({ DB_ENGINE: 'django.db.backends.postgresql', DB_HOST: 'crm.example.com', DB_USER: 'crm', DB_PASSWORD: '${CRM_DB_PASSWORD}', DB_NAME: 'crm' }),
      flask: app({ SQLALCHEMY_DATABASE_URI: 'postgresql+psycopg2://etl:${PGPASSWORD}@warehouse.example.com:6432/warehouse?sslmode=require' }),
    });
    expect(externals(c)).toEqual({
      warehouse: { kind: 'postgres', external: { host: 'warehouse.example.com', port: 6432 }, databases: [{ name: 'warehouse', owner: 'etl' }] },
      crm: { kind: 'postgres', external: { host: 'crm.example.com' }, databases: [{ name: 'crm', owner: 'crm' }] },
    });
    expect(c.libpq.env.PGHOST).toBe('Warehouse.Example.com');
    expect(c.libpq.secretEnv.PGPASSWORD).toEqual({ secret: 'warehouse-user-etl', key: 'password' });
    expect(c.libpq.uses).toEqual([{ to: 'warehouse' }]);
    expect(c.django.secretEnv.DB_PASSWORD).toEqual({ secret: 'crm-user-crm', key: 'password' });
    expect(c.flask.env.SQLALCHEMY_DATABASE_URI).toBe('postgresql+psycopg2://etl:$(PGPASSWORD)@warehouse.example.com:6432/warehouse?sslmode=require');
    expect(c.flask.uses).toEqual([{ to: 'warehouse', scheme: 'postgresql+psycopg2' }]);
  });

  it('two services on the same server share one component; a read-only login is a read-only relation', async () => {
    const { c, w, secrets } = await run({
      // The read-only client comes first: the owner is a guess until the owner's login shows up.
      board: app({ DATABASE_URL: 'postgresql://reports_reader:${READER_PASSWORD}@db.example.com/reports' }),
      api: app({ DATABASE_URL: 'postgresql://etl:${ETL_PASSWORD}@db.example.com:5432/reports' }),
    });
    expect(externals(c)).toEqual({ db: { kind: 'postgres', external: { host: 'db.example.com' }, databases: [{ name: 'reports', owner: 'etl' }] } });
    expect(c.board.uses).toEqual([{ to: 'db', access: 'read-only', env: 'DATABASE_SERVICE_URL' }]);
    expect(c.api.uses).toEqual([{ to: 'db', env: 'DATABASE_SERVICE_URL' }]);
    expect(c.board.secretEnv.READER_PASSWORD).toEqual({ secret: 'db-user-reports-ro', key: 'password' });
    expect(c.api.secretEnv.ETL_PASSWORD).toEqual({ secret: 'db-user-etl', key: 'password' });
    expect(secrets.map((s) => `${s.secret}/${s.key}`).sort()).toEqual(['db-user-etl/password', 'db-user-reports-ro/password']);
    expect(w.filter((l) => l.includes('outside the project'))).toEqual([
      'board: environment.DATABASE_URL: PostgreSQL at db.example.com:5432 is outside the project: it becomes the external component db, also named by api (DATABASE_URL); provide the passwords the server expects in the Secrets db-user-etl (login etl) and db-user-reports-ro (login reports_reader)',
    ]);
  });

  it('host.docker.internal stays the host, with a warning that it must be replaced', async () => {
    const { c, w } = await run({ app: app({ REDIS_HOST: 'host.docker.internal', REDIS_PORT: '6379' }) });
    expect(externals(c)).toEqual({ 'host-redis': { kind: 'redis', external: { host: 'host.docker.internal' }, password: false } });
    expect(c.app.uses).toEqual([{ to: 'host-redis' }]);
    expect(w.join('\n')).toContain('host.docker.internal is the machine compose ran on, which a cluster does not have: set components.host-redis.external.host to the server\'s real address');
  });

  it('names components from the host, as DNS labels that clash with nothing', async () => {
    const { c } = await run({
      db: { image: 'postgres:16.4', environment: { POSTGRES_PASSWORD: '${POSTGRES_PASSWORD}' } },
      app: app({
        A_URL: 'postgresql://a:${A_PASSWORD}@db.example.com/a',
        B_URL: 'postgresql://b:${B_PASSWORD}@10.0.4.12/b',
        C_URL: 'redis://db.example.com:6379/0',
        D_URL: 'redis://9cache.example.org:6379/0',
      }),
    });
    expect(Object.fromEntries(Object.entries(externals(c)).map(([n, v]) => [n, v.external.host]))).toEqual({
      'db-example': 'db.example.com',
      'postgres-10-0-4-12': '10.0.4.12',
      'db-example-com': 'db.example.com',
      'redis-9cache': '9cache.example.org',
    });
  });

  it('a host variable in an env file (a plain setting in a ConfigMap) still gets the relation', async () => {
    const { c, spec } = await run({ app: app(undefined, { env_file: ['.env.app'] }) }, { '.env.app': 'REDIS_HOST=redis.example.net\nREDIS_DB=2\n' });
    expect((spec as any).envFiles['env-app']).toEqual({ REDIS_HOST: 'redis.example.net', REDIS_DB: '2' });
    expect(c.app.uses).toEqual([{ to: 'redis', redisDb: 2 }]);
  });

  it('a password variable without a value reads the login Secret too', async () => {
    const { c } = await run({ app: app(['POSTGRES_HOST=pg.example.com', 'POSTGRES_USER=app', 'POSTGRES_PASSWORD']) });
    expect(c.app.secretEnv.POSTGRES_PASSWORD).toEqual({ secret: 'pg-user-app', key: 'password' });
    expect(c.pg.databases).toEqual([{ name: 'app', owner: 'app' }]);
  });

  it('a password variable the spec already manages for another server keeps that Secret', async () => {
    const { c, secrets } = await run({
      db: { image: 'postgres:16.4', environment: { POSTGRES_USER: 'app', POSTGRES_PASSWORD: '${DB_PASSWORD}' } },
      app: app({ DATABASE_URL: 'postgresql://app:${DB_PASSWORD}@db:5432/app', REPLICA_URL: 'postgresql://app:${DB_PASSWORD}@replica.example.com/app' }),
    });
    expect(c.app.secretEnv.DB_PASSWORD).toEqual({ secret: 'db-user-app', key: 'password' });
    expect(secrets).toEqual([{ secret: 'replica-user-app', key: 'password', from: 'the password of login app on replica.example.com (compose gives none)' }]);
  });

  it('leaves other engines, single-word hosts and hosts of the project as they were', async () => {
    const { c } = await run({
      cache: { image: 'redis:7.4' },
      app: app({ DB_HOST: 'mysql.example.com', DB_PORT: '3306', LEGACY: 'mysql://u:${LEGACY_PASSWORD}@mysql.example.com/crm', OLD_DB: 'postgresql://u:${OLD_PASSWORD}@olddb:5432/x', REDIS_HOST: 'cache' }),
    });
    expect(externals(c)).toEqual({});
    expect(c.app.egress).toEqual([{ cidr: '0.0.0.0/0', ports: [3306, 5432] }]);
    expect(c.app.uses).toEqual([{ to: 'cache' }]);
  });

  it('an address the spec cannot take still imports, with a warning, and keeps the egress', async () => {
    const { c, w } = await run({
      app: app({ A_URL: 'postgresql://a:${A_PASSWORD}@pg_main.example.com:5432/a', B_URL: 'redis://cache.example.net:99999/0', DB_HOST: 'db$.example.com', DB_PORT: '5432' }),
    });
    expect(externals(c)).toEqual({});
    expect(c.app.egress).toEqual([{ cidr: '0.0.0.0/0', ports: [5432] }]);
    expect(w).toContain(
      'app: environment.A_URL: names a PostgreSQL server outside the project, but "pg_main.example.com" must be a lower-case host name or IPv4 address such as "db.example.com" or "10.0.4.12": no external component is made (egress to port 5432 stays open); correct the address, then add an external postgres component and a relation to it',
    );
    expect(w.join('\n')).toContain('app: environment.B_URL: names a Redis server outside the project, but its port 99999 must be 1-65535');
    expect(w.join('\n')).toContain('app: environment.DB_HOST: names a PostgreSQL server outside the project, but "db$.example.com" must be a lower-case host name');
  });
});
