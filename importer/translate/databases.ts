/**
 * PostgreSQL, Redis, pgAdmin and other data servers. PostgreSQL and Redis become the stack's own
 * components (claim templates, Secrets, probes of their own); their compose settings become spec
 * fields. The password variables they used are remembered, so a client reading the same variable
 * gets the Secret the spec manages. Other servers become generic stateful components.
 */
import { secretNames } from '../../model/relations';
import { secretsIn } from '../load/interpolate';
import type { Mount } from '../load/normalize';
import { imageBase } from './classify';
import type { Context, Keys } from './context';
import { expandSecrets, translateEnv } from './env';
import { seconds, translateHealth } from './health';
import { imageOf, KNOWN_TAGS } from './images';
import { outsideMount, translateMounts } from './volumes';
import { EVICTION_POLICIES } from '../../model/redis-memory';

type Obj = Record<string, any>;

export const ident = (s: string) => s.toLowerCase().replace(/[^a-z0-9_]/g, '_').replace(/^([0-9])/, '_$1').slice(0, 63);

/** Remembers which compose variable (or literal) held a password the spec now manages. */
function manage(ctx: Context, value: unknown, secret: string, key = 'password'): void {
  if (typeof value !== 'string') return;
  const vars = secretsIn(value);
  if (vars.length === 1) ctx.managedSecrets.set(`var:${vars[0]}`, { secret, key });
  else if (vars.length === 0) ctx.managedSecrets.set(`lit:${value}`, { secret, key });
}

/** Databases and owners created by init scripts: `CREATE DATABASE x [OWNER y]`. */
function initDatabases(ctx: Context, m: Mount): { name: string; owner?: string }[] {
  const folder = ctx.project.folder;
  const kind = m.source ? folder.kind(m.source) : undefined;
  const files = kind === 'dir' ? folder.list(m.source!, 0).files : kind === 'file' ? [m.source!] : [];
  const out: { name: string; owner?: string }[] = [];
  for (const f of files) {
    const text = folder.readText(f) ?? '';
    for (const x of text.matchAll(/CREATE\s+DATABASE\s+"?([A-Za-z_][A-Za-z0-9_]*)"?(?:\s+(?:WITH\s+)?OWNER\s*=?\s*"?([A-Za-z_][A-Za-z0-9_]*)"?)?/gi)) out.push({ name: ident(x[1]), owner: x[2] && ident(x[2]) });
  }
  return out;
}

/** A server's own environment: its env files, then `environment` (which wins), as compose merges them. */
function serverEnv(keys: Keys): Obj {
  keys.take('env_file');
  const env: Obj = {};
  for (const f of keys.service.envFiles) Object.assign(env, f.vars);
  return Object.assign(env, keys.take<Obj>('environment') ?? {});
}

const loginSecret = (pg: string, owner: string) => secretNames.postgresLogin(pg, owner);

export function translatePostgres(ctx: Context, keys: Keys, name: string): Obj {
  const image = imageOf(ctx, keys, name, '');
  const env: Obj = serverEnv(keys);
  const user = ident(env.POSTGRES_USER ?? 'postgres');
  let db = ident(env.POSTGRES_DB ?? user);
  if (db === 'postgres' && user === 'postgres') {
    db = 'app';
    ctx.note(keys.service.name, 'the application data goes into database "app", not the "postgres" maintenance database');
  } else if (db === 'postgres') ctx.note(keys.service.name, `the application uses the maintenance database "postgres": the init script grants it to the login "${user}" (it already exists, so it is not locked)`);
  // The container's user owns its database, the superuser included: apps that log in as it keep it.
  const owner = user;
  if (user === 'postgres') ctx.note(keys.service.name, `database ${db} is owned by the superuser "postgres", as in compose (its password is the Secret ${name}-superuser); give the app a login of its own by setting another owner`);
  const databases: Obj[] = [{ name: db, owner }];
  const add = (n: string, o = owner) => databases.some((d) => d.name === n) || databases.push({ name: n, owner: o });
  for (const extra of String(env.POSTGRES_MULTIPLE_DATABASES ?? '').split(/[,\s]+/).filter(Boolean)) add(ident(extra.split(':')[0]));
  const c: Obj = { kind: 'postgres', ...(image ? { image } : {}), databases };
  for (const [k, v] of Object.entries(env)) {
    if (k === 'POSTGRES_PASSWORD') {
      manage(ctx, v, loginSecret(name, owner));
      ctx.secretFound(keys.service.name, k, `the login password of ${owner}: a Secret the spec generates (${loginSecret(name, owner)})`);
    }
    else if (k === 'POSTGRES_PASSWORD_FILE') {
      const secret = /^\/run\/secrets\/(.+)$/.exec(String(v))?.[1];
      if (secret) ctx.managedSecrets.set(`secret:${secret}`, { secret: loginSecret(name, owner), key: 'password' });
    } else if (['POSTGRES_USER', 'POSTGRES_DB', 'POSTGRES_MULTIPLE_DATABASES', 'PGDATA'].includes(k)) continue;
    else keys.warn(`environment.${k}`, 'not translated: the postgres component sets its own server environment');
  }
  for (const m of keys.take<Mount[]>('volumes') ?? []) {
    if (m.target === '/docker-entrypoint-initdb.d' || m.target.startsWith('/docker-entrypoint-initdb.d/')) {
      if (outsideMount(ctx, keys, m)) continue;
      const found = initDatabases(ctx, m);
      for (const d of found) add(d.name, d.owner && d.owner !== 'postgres' ? d.owner : owner);
      keys.warn(`volumes.${m.target}`, `init scripts are not run as they are; the spec's init script creates ${found.length ? `the databases they create (${found.map((d) => d.name).join(', ')}) and ` : ''}the logins. Run schema and data setup from a job`);
    } else if (m.type === 'volume' && m.source && m.target.startsWith('/var/lib/postgresql')) {
      const size = ctx.project.volumes[m.source]?.labels?.['kompose.volume.size'] ?? keys.config.labels?.['kompose.volume.size'];
      if (size) c.storage = String(size).replace(/([KMGT])i?[bB]?$/i, (u) => `${u[0].toUpperCase()}i`);
      ctx.note(keys.service.name, `volume ${m.source} -> claim template "data"${c.storage ? ` (${c.storage})` : ''}`);
    } else keys.warn(`volumes.${m.target}`, 'not translated: the postgres component keeps its data on its own claim template');
  }
  const shm = keys.take('shm_size');
  if (shm) c.sharedMemory = String(shm).replace(/([kmgt])b?$/i, (u) => `${u[0].toUpperCase()}i`);
  if (keys.take('healthcheck')) ctx.note(keys.service.name, 'healthcheck -> pg_isready startup, readiness and liveness probes');
  for (const p of keys.take<{ target: number }[]>('ports') ?? []) if (p.target !== 5432) keys.warn('ports', `PostgreSQL listens on 5432 here, not ${p.target}`);
  keys.take('expose');
  if (keys.take('command')) keys.warn('command', 'server flags are not translated; the postgres component runs the image default');
  keys.take('secrets');
  return c;
}

export function translateRedis(ctx: Context, keys: Keys, name: string): Obj {
  const image = imageOf(ctx, keys, name, '');
  const c: Obj = { kind: 'redis', ...(image ? { image } : {}), password: false };
  const words: string[] = [...(keys.take<string[]>('entrypoint') ?? []), ...(keys.take<string[]>('command') ?? [])];
  const env = serverEnv(keys);
  // Valkey and KeyDB take Redis's flags; a shell wrapper ("sh -c 'valkey-server ...'") only expands variables.
  const line = words.join(' ');
  const server = /(redis|valkey|keydb)-server/.test(line);
  const shell = !server && /^(\/bin\/)?(ba)?sh\b/.test(line);
  if (shell) keys.warn('command', 'not translated: the redis component runs its own server command');
  const flags = shell ? [] : line.replace(/^.*?(redis|valkey|keydb)-server\s*/, '').split(/\s+--/).map((f) => f.replace(/^--/, '').trim()).filter(Boolean);
  for (const f of flags) {
    const [flag, ...rest] = f.split(/\s+/);
    let value = rest.join(' ');
    const shellVar = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(value)?.[1];
    if (shellVar && env[shellVar] !== undefined) value = env[shellVar];
    if (flag === 'requirepass') {
      c.password = true;
      manage(ctx, value, `${name}-auth`);
      ctx.secretFound(keys.service.name, 'command --requirepass', `the Redis password: a Secret the spec generates (${name}-auth)`);
    } else if (flag === 'maxmemory') c.maxMemory = value.toLowerCase();
    else if (flag === 'maxmemory-policy' && (EVICTION_POLICIES as readonly string[]).includes(value.toLowerCase())) c.evictionPolicy = value.toLowerCase();
    else if (flag === 'appendonly' || flag === 'appendfsync' || flag === 'save' || f.endsWith('.conf')) continue;
    else keys.warn('command', `redis flag --${flag} is not translated`);
  }
  for (const [k, v] of Object.entries(env)) {
    if (k === 'REDIS_PASSWORD') {
      c.password = true;
      manage(ctx, v, `${name}-auth`);
      ctx.secretFound(keys.service.name, k, `the Redis password: a Secret the spec generates (${name}-auth)`);
    } else if (k !== 'ALLOW_EMPTY_PASSWORD') keys.warn(`environment.${k}`, 'not translated: the redis component writes its own redis.conf');
  }
  for (const m of keys.take<Mount[]>('volumes') ?? []) {
    if (m.type === 'volume' && m.source && m.target === '/data') ctx.note(keys.service.name, `volume ${m.source} -> claim template "data" (append-only file on)`);
    else keys.warn(`volumes.${m.target}`, 'not translated: the redis component keeps /data on its own claim template');
  }
  if (keys.take('healthcheck')) ctx.note(keys.service.name, 'healthcheck -> redis-cli ping startup, readiness and liveness probes');
  for (const p of keys.take<{ target: number }[]>('ports') ?? []) if (p.target !== 6379) keys.warn('ports', `Redis listens on 6379 here, not ${p.target}`);
  keys.take('expose');
  return c;
}

export function translatePgadmin(ctx: Context, keys: Keys, name: string): Obj {
  const image = imageOf(ctx, keys, name, '');
  const c: Obj = { kind: 'pgadmin', ...(image ? { image } : {}) };
  for (const [k, v] of Object.entries(keys.take<Obj>('environment') ?? {})) {
    if (k === 'PGADMIN_DEFAULT_EMAIL' && typeof v === 'string' && /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(v)) c.email = v;
    else if (k === 'PGADMIN_DEFAULT_PASSWORD') ctx.note(keys.service.name, `login password -> Secret ${name}-login (generated by the secrets command)`);
    else keys.warn(`environment.${k}`, 'not translated: the pgadmin component sets its own configuration');
  }
  keys.take('volumes');
  keys.take('ports');
  ctx.note(keys.service.name, 'every PostgreSQL component is pre-registered; its volumes are not needed');
  return c;
}

const SERVER_DEFAULTS: Record<string, { port: number; data: string; writable: string[] }> = {
  mysql: { port: 3306, data: '/var/lib/mysql', writable: ['/tmp', '/var/run/mysqld'] },
  'percona-server': { port: 3306, data: '/var/lib/mysql', writable: ['/tmp', '/var/run/mysqld'] },
  mariadb: { port: 3306, data: '/var/lib/mysql', writable: ['/tmp', '/run/mysqld'] },
  mongo: { port: 27017, data: '/data/db', writable: ['/tmp', '/data/configdb'] },
  mongodb: { port: 27017, data: '/data/db', writable: ['/tmp', '/data/configdb'] },
  rabbitmq: { port: 5672, data: '/var/lib/rabbitmq', writable: ['/tmp', '/etc/rabbitmq'] },
  elasticsearch: { port: 9200, data: '/usr/share/elasticsearch/data', writable: ['/tmp', '/usr/share/elasticsearch/logs'] },
  minio: { port: 9000, data: '/data', writable: ['/tmp'] },
  // Redis with modules keeps its image's own command (the redis component would drop the modules).
  redismod: { port: 6379, data: '/data', writable: ['/tmp'] },
  'redis-stack': { port: 6379, data: '/data', writable: ['/tmp'] },
  'clickhouse-server': { port: 8123, data: '/var/lib/clickhouse', writable: ['/tmp', '/var/log/clickhouse-server'] },
  influxdb: { port: 8086, data: '/var/lib/influxdb2', writable: ['/tmp'] },
  opensearch: { port: 9200, data: '/usr/share/opensearch/data', writable: ['/tmp', '/usr/share/opensearch/logs'] },
  memcached: { port: 11211, data: '', writable: ['/tmp'] },
  nats: { port: 4222, data: '', writable: ['/tmp'] },
  kafka: { port: 9092, data: '/var/lib/kafka/data', writable: ['/tmp'] },
  zookeeper: { port: 2181, data: '/data', writable: ['/tmp', '/datalog'] },
  etcd: { port: 2379, data: '/etcd-data', writable: ['/tmp'] },
  cassandra: { port: 9042, data: '/var/lib/cassandra', writable: ['/tmp'] },
  neo4j: { port: 7687, data: '/data', writable: ['/tmp', '/logs'] },
};

export function translateStateful(ctx: Context, keys: Keys, name: string, ports: number[]): Obj {
  const base = imageBase(keys.config.image);
  const known = SERVER_DEFAULTS[base];
  const image = imageOf(ctx, keys, name, KNOWN_TAGS[base] ? `${keys.config.image?.split(':')[0]}:${KNOWN_TAGS[base]}` : undefined);
  const env = translateEnv(ctx, keys, name);
  const mounts = translateMounts(ctx, keys, { claims: true });
  keys.take('ports');
  keys.take('expose');
  const list = ports.length > 0 ? ports : known ? [known.port] : [];
  if (list.length === 0) keys.fail('ports', 'a stateful server needs a port (ports or expose)');
  if (ports.length === 0 && known) ctx.note(keys.service.name, `no ports or expose: listens on ${known.port}, the image's usual port`);
  if (known?.data && !mounts.data.some((d) => d.path === known.data)) mounts.data.push({ name: 'data', path: known.data });
  const grace = keys.take('stop_grace_period');
  const c: Obj = { kind: 'stateful', image, ports: list.map((p, i) => ({ name: i === 0 ? base.replace(/[^a-z0-9]/g, '').slice(0, 15) || 'main' : `port-${p}`, port: p })) };
  const words = (k: string) => keys.take<string[]>(k)?.map((w) => expandSecrets(ctx, w, env.secretEnv, `${k} of ${keys.service.name}`));
  if (keys.config.entrypoint) c.command = words('entrypoint');
  if (keys.config.command) c.args = words('command');
  Object.assign(c, pick({ env: env.env, secretEnv: env.secretEnv, envFrom: env.envFrom, files: mounts.files, secretFiles: mounts.secretFiles }));
  // An anonymous volume on a data path is that data (compose keeps it per container); one mount per path.
  const mounted = new Set([...mounts.data.map((d) => d.path), ...Object.keys(mounts.files ?? {}), ...Object.keys(mounts.secretFiles ?? {})]);
  const writable = [...new Set([...(known?.writable ?? ['/tmp']), ...mounts.writablePaths])].filter((p) => !mounted.has(p));
  if (writable.join() !== '/tmp') c.writablePaths = writable;
  if (mounts.data.length) c.data = mounts.data;
  if (grace !== undefined) c.terminationGracePeriodSeconds = Math.min(3600, seconds(grace) ?? 60);
  const health = translateHealth(ctx, keys, c.secretEnv ?? (c.secretEnv = {}));
  if (Object.keys(c.secretEnv).length === 0) delete c.secretEnv;
  // A stateful server is probed by command: its own check, as compose ran it.
  if (health?.probe !== undefined) c.probe = health.http ? { command: health.command, ...(health.probe as Obj) } : health.probe;
  if (env.uses.length) c.uses = env.uses;
  return c;
}

/** The entries of an object whose values are not empty. */
export function pick(o: Obj): Obj {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0) && !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0)));
}
