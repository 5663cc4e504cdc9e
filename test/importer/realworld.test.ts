/**
 * Compose files as people publish them: what compose accepts is imported, every problem is reported
 * in one run, and what each service becomes follows the evidence. Each case is a small project
 * written to a temporary folder.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appearsIn, formatWarning, importCompose, type ImportResult } from '../../importer/import';
import { ComposeError } from '../../importer/load/errors';
import { resolveStack } from '../../model/presets';
import { buildManifests } from '../../charts/synth';

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-realworld-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

function importOf(files: Record<string, string>): Promise<ImportResult> {
  const dir = project(files);
  return importCompose({ files: [join(dir, 'compose.yaml')], environment: {} });
}

const warnings = (r: ImportResult) => r.warnings.map(formatWarning);

describe('what compose accepts is imported', () => {
  it('keeps unpinned images as written, warns, runs them locally, and prod names each with host and class in one message', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  web:\n    image: ghcr.io/acme/web:latest\n    ports: ["8080:8080"]\n  admin:\n    image: adminer\n    ports: ["8081:8080"]\n',
    });
    expect(r.spec.components.web).toMatchObject({ kind: 'web', image: 'ghcr.io/acme/web:latest' });
    expect(r.spec.components.admin).toMatchObject({ image: 'adminer' });
    expect(warnings(r)).toContain('web: image: "ghcr.io/acme/web:latest" has no pinned tag: kept as written for kind and k3d; prod needs a version such as "ghcr.io/acme/web:1.2.3" (latest changes under you)');
    for (const env of ['kind', 'k3d'] as const) expect(() => resolveStack(r.spec, env)).not.toThrow();
    let message = '';
    try {
      resolveStack(r.spec, 'prod');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/\(4 problems\)/);
    expect(message).toContain('environments.prod.edge.host');
    expect(message).toContain('environments.prod.edge.className');
    expect(message).toContain('components.web.image: "ghcr.io/acme/web:latest" has no pinned tag or digest');
    expect(message).toContain('components.admin.image: "adminer" has no pinned tag or digest');
  });

  it('drops a tag that is a documentation placeholder and says so', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  app:\n    image: ${APP_IMAGE:-apache/airflow:|version|}\n' });
    expect(r.spec.components.app.image).toBe('apache/airflow');
    expect(warnings(r).join('\n')).toContain('"|version|" is not an image tag');
  });

  it('reports the problems of every service in one run', async () => {
    const dir = project({ 'compose.yaml': 'services:\n  a:\n    image: acme/A:1\n  b:\n    image: acme/b:1\n    deploy: { resources: { limits: { memory: lots } } }\n' });
    let err: unknown;
    try {
      await importCompose({ files: [join(dir, 'compose.yaml')], environment: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ComposeError);
    expect((err as ComposeError).issues.map((i) => i.path.join('.'))).toEqual(['services.a.image', 'services.b.deploy.resources.limits.memory']);
  });

  it('skips a .env directory beside the compose file, as compose does', async () => {
    const dir = project({ 'compose.yaml': 'services:\n  app:\n    image: acme/app:1\n', '.env/readme.txt': 'not a file of variables\n' });
    expect(() => importCompose({ files: [join(dir, 'compose.yaml')], environment: {} })).not.toThrow();
  });

  it('runs a Valkey server without ports as the stack redis, password from its env_file', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  cache:\n    image: valkey/valkey:8.0-alpine\n    command: [sh, -c, "valkey-server --appendonly yes --requirepass $$REDIS_PASSWORD"]\n    env_file: redis.env\n',
      'redis.env': 'REDIS_PASSWORD=s3cret-value\n',
    });
    expect(r.spec.components.cache).toMatchObject({ kind: 'redis', image: 'valkey/valkey:8.0-alpine', password: true });
    expect(r.text).not.toContain('s3cret-value');
  });

  it('gives a known server without ports its usual port', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  ch:\n    image: clickhouse/clickhouse-server:24.8\n' });
    expect(r.spec.components.ch).toMatchObject({ kind: 'stateful', ports: [{ port: 8123 }] });
  });

  it('keeps an anonymous volume on a database data path as its data claim', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  db:\n    image: mariadb:11.4\n    volumes: [/var/lib/mysql]\n' });
    const db = r.spec.components.db as { data: { path: string }[]; writablePaths?: string[] };
    expect(db.data.map((d) => d.path)).toEqual(['/var/lib/mysql']);
    expect(db.writablePaths ?? []).not.toContain('/var/lib/mysql');
  });

  it('a named volume on /tmp replaces the pod scratch /tmp instead of mounting twice', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  app:\n    image: acme/app:1\n    volumes: [scratch:/tmp]\nvolumes:\n  scratch: {}\n' });
    expect(r.spec.components.app).toMatchObject({ writablePaths: [], volumes: [{ volume: 'scratch', path: '/tmp' }] });
  });

  it('does not deploy host agents, and reads none of the host paths they mount', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  exporter:\n    image: quay.io/prometheus/node-exporter:latest\n    volumes: ["/proc:/host/proc:ro", "/:/rootfs:ro"]\n  agent:\n    image: acme/agent:1\n    volumes: ["/sys:/host/sys:ro"]\n  app:\n    image: acme/app:1\n',
    });
    expect(Object.keys(r.spec.components)).toEqual(['app']);
    expect(r.summary.get('exporter')?.[0]).toMatch(/^not deployed: a host exporter/);
    expect(r.summary.get('agent')?.[0]).toContain("mounts the host's /sys");
  });
});

describe('what a service becomes follows the evidence', () => {
  it('a step others wait for with service_completed_successfully is a job, whatever its restart policy', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  prestart:\n    image: acme/app:1\n    command: bash scripts/prestart.sh\n  app:\n    image: acme/app:1\n    ports: ["8000:8000"]\n    depends_on:\n      prestart: { condition: service_completed_successfully }\n',
    });
    expect(r.spec.components.prestart.kind).toBe('job');
    expect(r.spec.components.app.kind).toBe('web');
  });

  it('a server with published ports is web even when restart is "no", and the dropped policy is a warning', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  api:\n    image: acme/api:1\n    restart: "no"\n    ports: ["8000:8000"]\n' });
    expect(r.spec.components.api.kind).toBe('web');
    expect(warnings(r).join('\n')).toContain('api: restart: "no" is not kept');
  });

  it('nginx built from a local Dockerfile that copies its config is the edge, and its routes are read', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  proxy:\n    build: proxy\n    ports: ["80:80"]\n  backend:\n    image: acme/backend:1\n    expose: ["8000"]\n',
      'proxy/Dockerfile': 'FROM nginx:1.27-alpine\nCOPY conf /etc/nginx/conf.d/default.conf\n',
      'proxy/conf': 'server {\n  listen 80;\n  location / {\n    proxy_pass http://backend:8000;\n  }\n}\n',
    });
    expect(r.spec.components.proxy).toBeUndefined();
    expect(r.summary.get('proxy')?.[0]).toBe('the edge');
    expect(r.spec.components.backend).toMatchObject({ kind: 'web', route: { path: '/' } });
  });

  it('mail catchers and test runners run in the local environments only', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  mailpit:\n    image: axllent/mailpit:v1.20\n    ports: ["8025:8025"]\n  e2e:\n    image: acme/tests:1\n    command: npx playwright test\n  app:\n    image: acme/app:1\n    ports: ["8000:8000"]\n',
    });
    expect(r.spec.environments?.prod?.components).toMatchObject({ mailpit: { enabled: false }, e2e: { enabled: false } });
    expect(r.spec.environments?.prod?.components?.app).toBeUndefined();
  });
});

describe('routes', () => {
  it('keeps every path a proxy sends to one component', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  proxy:\n    image: nginx:1.27\n    ports: ["443:443"]\n    volumes: ["./nginx.conf:/etc/nginx/conf.d/default.conf:ro"]\n  api:\n    image: acme/api:1\n    expose: ["8000"]\n',
      'nginx.conf': 'server {\n  listen 443 ssl;\n  location /health { proxy_pass http://api:8000; }\n  location /api/v1 { proxy_pass http://api:8000; }\n}\n',
    });
    expect((r.spec.components.api as { routes?: unknown }).routes).toEqual([{ path: '/health' }, { path: '/api/v1' }]);
    const edge = resolveStack(r.spec, 'kind').edge!;
    expect(edge.routes.filter((x) => x.component === 'api').map((x) => x.path)).toEqual(['/health', '/api/v1']);
  });

  it('gives each Traefik router its own host, also for a Traefik outside the file', async () => {
    const r = await importOf({
      'compose.yaml': [
        'services:',
        '  backend:',
        '    image: acme/api:1',
        '    labels:',
        '      - traefik.enable=true',
        '      - traefik.http.routers.api.rule=Host(`api.localhost`)',
        '      - traefik.http.services.api.loadbalancer.server.port=8000',
        '  adminer:',
        '    image: adminer:4.8.1',
        '    labels:',
        '      - traefik.enable=true',
        '      - traefik.http.routers.adminer.rule=Host(`adminer.localhost`)',
        '      - traefik.http.services.adminer.loadbalancer.server.port=8080',
        '',
      ].join('\n'),
    });
    expect(r.spec.components.backend).toMatchObject({ route: { path: '/', subdomain: 'api' } });
    expect(r.spec.components.adminer).toMatchObject({ route: { path: '/', subdomain: 'adminer' } });
    expect(warnings(r).join('\n')).toContain('are for a Traefik outside this file');
  });
});

describe('the summary', () => {
  it('prints the route table and the flows', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  api:\n    image: acme/api:1\n    ports: ["8000:8000"]\n    environment:\n      DATABASE_URL: postgresql://app:pw@db:5432/app\n  db:\n    image: postgres:16.4\n    environment: { POSTGRES_USER: app, POSTGRES_PASSWORD: pw }\n',
    });
    expect(r.summary.get('(routes)')).toEqual(['public routes (host, path, component:port):', '<host>  /  api:8000']);
    const flows = r.summary.get('(flows)')!;
    expect(flows[0]).toBe('flows NetworkPolicies admit (besides DNS):');
    expect(flows).toContain('api -> db:5432');
    expect(flows).toContain('edge -> api:8000');
    expect(flows[flows.length - 1]).toMatch(/^network mode stack: /);
  });
});

describe('logins keep their meaning', () => {
  it('an app that used the superuser keeps it, with the superuser Secret; env_file settings of the server count', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  db:\n    image: postgres:16.4\n    env_file: db.env\n  api:\n    image: acme/api:1\n    ports: ["8000:8000"]\n    environment:\n      DATABASE_URL: postgresql://postgres:${POSTGRES_PASSWORD:-changethis}@db:5432/shop\n',
      'db.env': 'POSTGRES_DB=shop\nPOSTGRES_PASSWORD=changethis\n',
    });
    expect(r.spec.components.db).toMatchObject({ kind: 'postgres', databases: [{ name: 'shop', owner: 'postgres' }] });
    const objs = buildManifests(resolveStack(r.spec, 'kind'));
    const api = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'api');
    const env = api.spec.template.spec.containers[0].env;
    expect(env.find((e: { name: string }) => e.name === 'DATABASE_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'db-superuser', key: 'password' });
    expect(env.find((e: { name: string }) => e.name === 'DATABASE_URL').value).toContain('postgres:$(DATABASE_PASSWORD)@db:5432/shop');
  });
});

describe('logins keep their case, and custom images their own variables', () => {
  const manifestsOf = (r: ImportResult) => buildManifests(resolveStack(r.spec, 'kind'));
  const envOf = (objs: any[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name).spec.template.spec.containers[0].env;

  it('POSTGRES_USER=yourUser is the login yourUser, end to end: spec, init script, Secret and the app URL', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  db:\n    image: postgres:16.4\n    environment: {POSTGRES_USER: yourUser, POSTGRES_PASSWORD: "${DB_PASSWORD}", POSTGRES_DB: ShopData}\n  api:\n    image: acme/api:1\n    ports: ["8000:8000"]\n    environment:\n      DATABASE_URL: postgresql://yourUser:${DB_PASSWORD}@db:5432/ShopData\n',
    });
    expect(r.spec.components.db).toMatchObject({ databases: [{ name: 'ShopData', owner: 'yourUser' }] });
    expect((r.spec.components.api as any).uses).toEqual([{ to: 'db' }]);
    // Nothing was renamed, so nothing is reported as changed.
    expect(warnings(r).filter((w) => /login|connects as|not a name/.test(w))).toEqual([]);
    const objs = manifestsOf(r);
    const init = objs.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'db-init').data['10-stackport-logins.sh'];
    expect(init).toContain(`SELECT 'CREATE ROLE "yourUser" LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'yourUser')`);
    expect(init).toContain('CREATE DATABASE "ShopData" OWNER "yourUser";');
    const env = envOf(objs, 'Deployment', 'api');
    expect(env.find((e: any) => e.name === 'DATABASE_PASSWORD').valueFrom.secretKeyRef).toEqual({ name: 'db-user-youruser', key: 'password' });
    expect(env.find((e: any) => e.name === 'DATABASE_URL').value).toBe('postgresql://yourUser:$(DATABASE_PASSWORD)@db:5432/ShopData');
  });

  it('a URL naming another database adds it with its case, percent-decoded; another login than the owner is a warning', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  db:\n    image: postgres:16.4\n    environment: {POSTGRES_USER: yourUser, POSTGRES_PASSWORD: pw-Xy12}\n  api:\n    image: acme/api:1\n    ports: ["8000:8000"]\n    environment:\n      DATABASE_URL: postgresql://Reporter:pw-Xy12@db:5432/Sales%2DEU\n      AUDIT_URL: postgresql://youruser:pw-Xy12@db:5432/yourUser\n',
    });
    expect(r.spec.components.db).toMatchObject({ databases: [{ name: 'yourUser', owner: 'yourUser' }, { name: 'Sales-EU', owner: 'Reporter' }] });
    expect(warnings(r)).toContain('api: environment.AUDIT_URL: connects as "youruser"; the spec gives api the login of the database owner, "yourUser"');
  });

  it('names the spec cannot hold are changed with a warning; a reserved role name stops the import', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  db:\n    image: postgres:16.4\n    environment: {POSTGRES_USER: my.user, POSTGRES_DB: "2024 data"}\n',
    });
    expect(r.spec.components.db).toMatchObject({ databases: [{ name: '_2024_data', owner: 'my_user' }] });
    expect(warnings(r)).toContain('db: environment.POSTGRES_USER: login "my.user" is not a name the spec takes (letters, digits, "_" and "-", at most 63): it is "my_user" in the spec, so clients must log in as "my_user"');
    expect(warnings(r)).toContain('db: environment.POSTGRES_DB: database "2024 data" is not a name the spec takes (letters, digits, "_" and "-", at most 63): it is "_2024_data" in the spec, so clients must connect to "_2024_data"');
    await expect(importOf({ 'compose.yaml': 'services:\n  db:\n    image: postgres:16.4\n    environment: {POSTGRES_USER: pg_admin}\n' })).rejects.toThrow(
      /services\.db\.environment\.POSTGRES_USER: "pg_admin" is a role name PostgreSQL reserves/,
    );
  });

  it('CREATE DATABASE in an init script: quoted names keep their case, unquoted ones fold as PostgreSQL folds them (so do POSTGRES_MULTIPLE_DATABASES)', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  db:\n    image: postgres:16.4\n    environment: {POSTGRES_USER: app, POSTGRES_MULTIPLE_DATABASES: "Orders,audit"}\n    volumes: ["./init:/docker-entrypoint-initdb.d"]\n',
      'init/01.sql': 'CREATE DATABASE "Reports" OWNER "Analyst";\nCREATE DATABASE Sales WITH OWNER = app;\nCREATE DATABASE "Ledger" OWNER CURRENT_USER;\n',
    });
    expect(r.spec.components.db).toMatchObject({
      databases: [
        { name: 'app', owner: 'app' },
        { name: 'orders', owner: 'app' },
        { name: 'audit', owner: 'app' },
        { name: 'Reports', owner: 'Analyst' },
        { name: 'sales', owner: 'app' },
        { name: 'Ledger', owner: 'app' },
      ],
    });
  });

  it('a login differing from an owner only in case keeps the owner (one Secret cannot serve two), with a warning', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  db:\n    image: postgres:16.4\n    environment: {POSTGRES_USER: App}\n    volumes: ["./init.sql:/docker-entrypoint-initdb.d/init.sql"]\n  api:\n    image: acme/api:1\n    ports: ["8000:8000"]\n    environment:\n      DATABASE_URL: postgresql://app:pw-Xy12@db:5432/orders\n',
      'init.sql': 'CREATE DATABASE audit OWNER "APP";\n',
    });
    expect(r.spec.components.db).toMatchObject({ databases: [{ name: 'App', owner: 'App' }, { name: 'audit', owner: 'App' }, { name: 'orders', owner: 'App' }] });
    expect(warnings(r)).toContain('db: volumes./docker-entrypoint-initdb.d/init.sql: login "APP" differs from another owner only in case or in "_" versus "-", which the spec\'s Secret names cannot tell apart: database audit is owned by "App"');
    expect(warnings(r)).toContain('api: environment.DATABASE_URL: connects as "app"; the spec gives api the login of the database owner, "App"');
  });

  it('sameersbn/postgresql: DB_USER, DB_PASS and the DB_NAME list make the login and databases; the app reading DB_PASS gets its Secret', async () => {
    const r = await importOf({
      'compose.yaml': [
        'services:',
        '  postgresql:',
        '    image: sameersbn/postgresql:14-20230628',
        '    environment: {DB_USER: gitLab, DB_PASS: "${DB_PASS}", DB_NAME: "gitlab_production, gitlab_ci", PG_PASSWORD: "${PG_ROOT_PASSWORD}", DB_EXTENSION: pg_trgm}',
        '  gitlab:',
        '    image: sameersbn/gitlab:16.0.4',
        '    ports: ["8080:8080"]',
        '    environment: {DB_HOST: postgresql, DB_USER: gitLab, DB_PASS: "${DB_PASS}", DB_NAME: gitlab_production}',
        '  backup:',
        '    image: acme/pg-backup:1.0',
        '    environment: {PGHOST: postgresql, PGPASSWORD: "${PG_ROOT_PASSWORD}"}',
        '',
      ].join('\n'),
    });
    const db = r.spec.components.postgresql as any;
    expect(db.image).toBeUndefined();
    expect(db.databases).toEqual([{ name: 'gitlab_production', owner: 'gitLab' }, { name: 'gitlab_ci', owner: 'gitLab' }]);
    expect((r.spec.components.gitlab as any).secretEnv).toEqual({ DB_PASS: { secret: 'postgresql-user-gitlab', key: 'password' } });
    expect((r.spec.components.backup as any).secretEnv).toEqual({ PGPASSWORD: { secret: 'postgresql-superuser', key: 'password' } });
    expect(r.secrets).toEqual([]);
    const w = warnings(r);
    expect(w).toContain('postgresql: image: "sameersbn/postgresql:14-20230628" is configured by its own variables (DB_USER, DB_PASS, DB_NAME, PG_PASSWORD) through its own entrypoint, which the postgres component does not run: it runs the official image (the spec default) with the same login and databases; set image to an official-compatible one for another version');
    expect(w).toContain('postgresql: environment.DB_EXTENSION: not translated: the postgres component sets its own server environment');
  });

  it('bitnami/postgresql: POSTGRESQL_USERNAME, _PASSWORD, _DATABASE and the postgres password', async () => {
    const r = await importOf({
      'compose.yaml': [
        'services:',
        '  db:',
        '    image: bitnami/postgresql:16.4.0',
        '    environment: {POSTGRESQL_USERNAME: keyCloak, POSTGRESQL_PASSWORD: "${KC_DB_PASSWORD}", POSTGRESQL_DATABASE: keycloak, POSTGRESQL_POSTGRES_PASSWORD: "${ROOT_PASSWORD}"}',
        '  kc:',
        '    image: quay.io/keycloak/keycloak:25.0',
        '    ports: ["8080:8080"]',
        '    environment: {KC_DB_URL_HOST: db, KC_DB_USERNAME: keyCloak, KC_DB_PASSWORD: "${KC_DB_PASSWORD}"}',
        '',
      ].join('\n'),
    });
    expect(r.spec.components.db).toMatchObject({ databases: [{ name: 'keycloak', owner: 'keyCloak' }] });
    expect((r.spec.components.db as any).image).toBeUndefined();
    expect((r.spec.components.kc as any).secretEnv).toEqual({ KC_DB_PASSWORD: { secret: 'db-user-keycloak', key: 'password' } });
  });

  it('the official image keeps its own variables and image; DB_* there configure nothing; a login in a file is a warning', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  db:\n    image: postgres:16.4\n    environment: {DB_USER: shop, POSTGRES_USER_FILE: /run/secrets/db_user}\n',
    });
    expect(r.spec.components.db).toMatchObject({ image: 'postgres:16.4', databases: [{ name: 'app', owner: 'postgres' }] });
    expect(warnings(r)).toContain('db: environment.DB_USER: not translated: the postgres component sets its own server environment');
    expect(warnings(r)).toContain('db: environment.POSTGRES_USER_FILE: the login name is read from a file when the server starts, which the spec cannot see: set databases[0].owner in stack.yaml to it (now "postgres")');
  });
});

describe('a mail catcher the app sends to', () => {
  it('runs in kind and k3d only; the app keeps the host it names and prod is told to point it elsewhere', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  mailpit:\n    image: axllent/mailpit:v1.20\n    ports: ["8025:8025", "1025:1025"]\n  app:\n    image: acme/app:1\n    ports: ["8000:8000"]\n    environment: { SMTP_HOST: mailpit, SMTP_PORT: "1025" }\n',
    });
    expect(r.spec.environments?.prod?.components?.mailpit).toEqual({ enabled: false });
    expect(r.spec.components.app).toMatchObject({ env: { SMTP_HOST: 'mailpit', SMTP_PORT: '1025' } });
    expect((r.spec.components.app as { uses?: unknown }).uses).toBeUndefined();
    expect(warnings(r).join('\n')).toContain('app: environment: reaches mailpit (a mail catcher, kind and k3d only)');
    expect(() => resolveStack({ ...r.spec, environments: { ...r.spec.environments, prod: { ...r.spec.environments!.prod, edge: { host: 'shop.example.com', className: 'eg' } } } }, 'prod')).not.toThrow();
  });
});

describe('a backend reached only through the proxy', () => {
  it('keeps the port nginx proxies to, and its route', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  proxy:\n    image: nginx:1.27\n    ports: ["80:80"]\n    volumes: ["./proxy/nginx.conf:/etc/nginx/conf.d/default.conf:ro"]\n  backend:\n    build: backend\n',
      'proxy/nginx.conf': 'server {\n  listen 80;\n  location / {\n    proxy_pass http://backend:8000;\n  }\n}\n',
      'backend/Dockerfile': 'FROM golang:1.22\n',
    });
    expect(r.spec.components.backend).toMatchObject({ kind: 'web', port: 8000, route: { path: '/' } });
  });
});

// Shapes seen in public projects (appwrite, outline, calcom, hoppscotch, plane, nextcloud AIO,
// immich, mailcow, sentry): what compose accepts is imported, or refused as the input it is.
describe('public project shapes', () => {
  it('a short or common secret value ("pass", "password", "secret") is not taken for a leak of generated names', async () => {
    const r = await importOf({
      'compose.yaml': [
        'services:',
        '  db:',
        '    image: postgres:16.4',
        '    environment: {POSTGRES_PASSWORD: password}',
        '  cache:',
        '    image: redis:7.4',
        '  app:',
        '    image: example/app:1.0',
        '    environment: {DB_HOST: db, DB_PASSWORD: password, ENCRYPTION_KEY: secret, REDIS_PASS: pass}',
        '',
      ].join('\n'),
    });
    expect((r.spec.components.app as any).secretEnv).toMatchObject({ DB_PASSWORD: { secret: 'db-superuser', key: 'password' } });
    expect(r.text).not.toMatch(/:\s+(password|secret|pass)\s*$/m);
  });

  it('the leak check finds a value as a word of any string value, and not inside names or references', () => {
    expect(appearsIn({ env: { URL: 'postgres://u:pass@db/app' } }, 'pass')).toBe(true);
    expect(appearsIn({ args: ['--token=abc123xyz'] }, 'abc123xyz')).toBe(true);
    expect(appearsIn({ files: { '/etc/app.ini': 'key = s3cr3t\n' } }, 's3cr3t')).toBe(true);
    expect(appearsIn({ password: false, name: 'shop-secrets', secretEnv: { A: 'db-superuser/password' }, secretFiles: { '/run/secrets/x': 'shop-secrets/pass' } }, 'password')).toBe(false);
    expect(appearsIn({ env: { MODE: 'passthrough', NAME: 'shop-secrets' } }, 'pass')).toBe(false);
    expect(appearsIn({ env: { NAME: 'shop-secrets' } }, 'secret')).toBe(false);
  });

  it('REDIS_HOST and REDIS_URL (or PGHOST and DATABASE_URL) to one server make one relation', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  app:\n    image: example/app:1.0\n    environment: {REDIS_HOST: cache, REDIS_URL: "redis://cache:6379/", PGHOST: db, DATABASE_URL: "postgresql://app:pw-Xy12@db:5432/app"}\n  cache:\n    image: redis:7.4\n  db:\n    image: postgres:16.4\n',
    });
    expect((r.spec.components.app as any).uses).toEqual([{ to: 'cache' }, { to: 'db' }]);
    expect((r.spec.components.app as any).env).toMatchObject({ REDIS_HOST: 'cache', PGHOST: 'db' });
  });

  it('a relation variable set in env_file and again in environment is one relation (environment wins, as in compose)', async () => {
    const r = await importOf({
      '.env.app': 'DATABASE_URL=postgresql://app:pw-Xy12@db:5432/app\nREDIS_URL=redis://cache:6379\n',
      'compose.yaml': 'services:\n  app:\n    image: example/app:1.0\n    env_file: .env.app\n    environment: {DATABASE_URL: "postgresql://app:pw-Xy12@db:5432/app", DATABASE_DIRECT_URL: "postgresql://app:pw-Xy12@db:5432/app"}\n  cache:\n    image: redis:7.4\n  db:\n    image: postgres:16.4\n',
    });
    expect((r.spec.components.app as any).uses).toEqual([{ to: 'cache' }, { to: 'db' }, { to: 'db', env: 'DATABASE_DIRECT_URL' }]);
  });

  it('ports 80, 443, 8080 and 8443 on one service are all kept; the pod opens ports from 80 up to its uid', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  app:\n    image: example/app:1.0\n    ports: ["80:80", "8080:8080", "443:443", "8443:8443"]\n' });
    expect(r.spec.components.app).toMatchObject({ port: 80, extraPorts: [{ name: 'port-8080', port: 8080 }, { name: 'port-443', port: 443 }, { name: 'port-8443', port: 8443 }] });
    expect(r.summary.get('app')!.join('\n')).toContain('listens on 80 as a non-root uid: the pod sets net.ipv4.ip_unprivileged_port_start=80');
  });

  it('an empty host IP in a port (":8080:80", "${BIND:-}:8443:443") means every interface, as in compose', async () => {
    const r = await importOf({ 'compose.yaml': 'services:\n  app:\n    image: example/app:1.0\n    ports: [":8080:8080", "${BIND:-}:8443:8443"]\n' });
    expect(r.spec.components.app).toMatchObject({ port: 8080, extraPorts: [{ port: 8443 }] });
  });

  it('no service to run is an input error that says why: profiles not active, or only a proxy', async () => {
    const profiled = project({ 'compose.yaml': 'services:\n  app:\n    image: nginx:1.27\n    profiles: [backend]\n' });
    await expect(importCompose({ files: [join(profiled, 'compose.yaml')], environment: {} })).rejects.toThrow(/services: every service is in a profile that is not active \(app\): pass the ones to deploy, e\.g\. --profile backend/);
    const proxy = project({ 'compose.yaml': 'services:\n  proxy:\n    image: traefik:v3.1\n' });
    const e = await importCompose({ files: [join(proxy, 'compose.yaml')], environment: {} }).catch((x) => x);
    expect(e).toBeInstanceOf(ComposeError);
    expect(e.message).toMatch(/no service becomes a component of the stack \(proxy\)/);
    expect(e.message).not.toMatch(/importer bug/);
  });

  it('anchors merged into many services (sentry: 20 services share defaults that wait for 50) are read', async () => {
    const lines = ['x-hc: &hc {condition: service_started}', 'x-defaults: &defaults', '  image: busybox:1.36', '  depends_on:'];
    for (let i = 0; i < 50; i++) lines.push(`    d${i}: {<<: *hc}`);
    lines.push('services:');
    for (let i = 0; i < 50; i++) lines.push(`  d${i}: {image: 'busybox:1.36'}`);
    for (let i = 0; i < 20; i++) lines.push(`  s${i}: {<<: *defaults}`);
    const r = await importOf({ 'compose.yaml': `${lines.join('\n')}\n` });
    expect(Object.keys(r.spec.components).length).toBeGreaterThanOrEqual(70);
  });
});
