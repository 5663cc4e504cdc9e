/**
 * PostgreSQL, Redis, pgAdmin and other data servers. PostgreSQL and Redis become the stack's own
 * components (claim templates, Secrets, probes of their own); their compose settings become spec
 * fields. The password variables they used are remembered, so a client reading the same variable
 * gets the Secret the spec manages. Other servers become generic stateful components.
 */
import { reservedRole } from '../../model/fields';
import { secretNames } from '../../model/relations';
import { secretsIn } from '../load/interpolate';
import type { Mount } from '../load/normalize';
import { imageBase } from './classify';
import type { Context, Keys } from './context';
import { expandSecrets, translateEnv } from './env';
import { seconds, translateHealth } from './health';
import { imageOf, KNOWN_TAGS } from './images';
import { conventionOf, setVariables, sharesSecret, specPgName, type Convention } from './postgres-logins';
import { outsideMount, translateMounts } from './volumes';
import { EVICTION_POLICIES } from '../../model/redis-memory';

type Obj = Record<string, any>;

/** Remembers which compose variable (or literal) held a password the spec now manages. */
function manage(ctx: Context, value: unknown, secret: string, key = 'password'): void {
  if (typeof value !== 'string') return;
  const vars = secretsIn(value);
  if (vars.length === 1) ctx.managedSecrets.set(`var:${vars[0]}`, { secret, key });
  else if (vars.length === 0) ctx.managedSecrets.set(`lit:${value}`, { secret, key });
}

/** A name in SQL: "Quoted" keeps its case, unquoted folds to lower case, as PostgreSQL reads it. */
const sqlName = (token: string) => (token.startsWith('"') ? token.slice(1, -1).replace(/""/g, '"') : token.toLowerCase());
const SQL_NAME = String.raw`("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const CREATE_DATABASE = new RegExp(String.raw`CREATE\s+DATABASE\s+${SQL_NAME}(?:\s+(?:WITH\s+)?OWNER\s*=?\s*${SQL_NAME})?`, 'gi');

/** The init scripts a mount on /docker-entrypoint-initdb.d brings: the file, or the files of the folder. */
function scriptFiles(ctx: Context, m: Mount): string[] {
  const kind = m.source ? ctx.project.folder.kind(m.source) : undefined;
  return kind === 'dir' ? ctx.project.folder.list(m.source!, 0).files : kind === 'file' ? [m.source!] : [];
}

/** Databases and owners created by init scripts: `CREATE DATABASE x [OWNER y]`. */
function initDatabases(ctx: Context, keys: Keys, m: Mount): { name: string; owner?: string }[] {
  const folder = ctx.project.folder;
  const files = scriptFiles(ctx, m);
  const out: { name: string; owner?: string }[] = [];
  const key = `volumes.${m.target}`;
  for (const f of files) {
    const text = folder.readText(f) ?? '';
    for (const x of text.matchAll(CREATE_DATABASE)) {
      // OWNER CURRENT_USER (the superuser running the script) or a reserved role: the server's own owner.
      const owner = x[2] && !/^(current_user|session_user|current_role)$/i.test(x[2]) && !reservedRole(sqlName(x[2])) ? specPgName(keys, key, sqlName(x[2]), 'login') : undefined;
      out.push({ name: specPgName(keys, key, sqlName(x[1]), 'database'), owner });
    }
  }
  return out;
}

const SHELL_VAR = String.raw`\$\{?([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}?`;
const CREATE_LOGIN = new RegExp(String.raw`CREATE\s+(?:USER|ROLE)\s+(?:${SHELL_VAR}|${SQL_NAME})[^;]*?PASSWORD\s+'${SHELL_VAR}'`, 'gi');
const GRANT_ALL = new RegExp(String.raw`GRANT\s+ALL(?:\s+PRIVILEGES)?\s+ON\s+DATABASE\s+(?:${SHELL_VAR}|${SQL_NAME})\s+TO\s+(?:${SHELL_VAR}|${SQL_NAME})`, 'gi');

/**
 * Logins an init script creates from the server's variables (`CREATE USER ${APP_USER} WITH PASSWORD
 * '${APP_PASSWORD}'`), with the databases it grants them ALL on: apps log in with those variables.
 */
function initLogins(ctx: Context, m: Mount, env: Obj): { login: string; passwordVar: string; databases: string[]; vars: string[] }[] {
  const folder = ctx.project.folder;
  const files = scriptFiles(ctx, m);
  const name = (variable: string | undefined, sql: string | undefined) => (variable !== undefined ? (typeof env[variable] === 'string' && env[variable] ? String(env[variable]) : undefined) : sql && sqlName(sql));
  const out: { login: string; passwordVar: string; databases: string[]; vars: string[] }[] = [];
  for (const f of files) {
    const text = folder.readText(f) ?? '';
    const grants = [...text.matchAll(GRANT_ALL)].map((g) => ({ database: name(g[1], g[2]), login: name(g[3], g[4]), vars: [g[1], g[3]] }));
    for (const x of text.matchAll(CREATE_LOGIN)) {
      const login = name(x[1], x[2]);
      if (!login || out.some((o) => o.login === login)) continue;
      const own = grants.filter((g) => g.login === login && g.database);
      out.push({ login, passwordVar: x[3], databases: own.map((g) => g.database!), vars: [x[1], ...own.flatMap((g) => g.vars)].filter((v): v is string => v !== undefined) });
    }
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

/**
 * An image that configures itself from its own variables runs its own entrypoint, which the postgres
 * component does not drive (it mounts the init script and the password files the official one reads):
 * the component runs the spec default image and creates the same login and databases.
 */
function ownImage(ctx: Context, keys: Keys, name: string, conv: Convention, env: Obj): string | undefined {
  if (conv.official || keys.config.build !== undefined) return imageOf(ctx, keys, name, '');
  const written = keys.take<string>('image');
  keys.warn('image', `"${written}" is configured by its own variables (${setVariables(conv, env).join(', ')}) through its own entrypoint, which the postgres component does not run: it runs the official image (the spec default) with the same login and databases; set image to an official-compatible one for another version`);
  return undefined;
}

export function translatePostgres(ctx: Context, keys: Keys, name: string): Obj {
  const env: Obj = serverEnv(keys);
  const conv = conventionOf(env, keys.config.image);
  const image = ownImage(ctx, keys, name, conv, env);
  // An empty value counts as unset, as the images read it (${POSTGRES_USER:-postgres}).
  const set = (k: string) => (typeof env[k] === 'string' && env[k] !== '' ? (env[k] as string) : undefined);
  const user = set(conv.user) === undefined ? 'postgres' : specPgName(keys, `environment.${conv.user}`, set(conv.user)!, 'login');
  const written = set(conv.database);
  const named = (conv.list ? (written ?? '').split(',') : [written ?? '']).map((d) => d.trim()).filter(Boolean).map((d) => specPgName(keys, `environment.${conv.database}`, d, 'database'));
  let db = named[0] ?? (conv.defaultDatabase === 'login' ? user : 'postgres');
  if (db === 'postgres' && user === 'postgres') {
    db = 'app';
    ctx.note(keys.service.name, 'the application data goes into database "app", not the "postgres" maintenance database');
  } else if (db === 'postgres') ctx.note(keys.service.name, `the application uses the maintenance database "postgres": the init script grants it to the login "${user}" (it already exists, so it is not locked)`);
  // The container's user owns its database, the superuser included: apps that log in as it keep it.
  const owner = user;
  if (user === 'postgres') ctx.note(keys.service.name, `database ${db} is owned by the superuser "postgres", as in compose (its password is the Secret ${name}-superuser); give the app a login of its own by setting another owner`);
  const databases: Obj[] = [{ name: db, owner }];
  const add = (n: string, o = owner) => databases.some((d) => d.name === n) || databases.push({ name: n, owner: o });
  for (const extra of named.slice(1)) add(extra);
  // The usual script for this variable writes the names unquoted in CREATE DATABASE, so PostgreSQL folds them.
  for (const extra of String(env.POSTGRES_MULTIPLE_DATABASES ?? '').split(/[,\s]+/).filter(Boolean)) add(specPgName(keys, 'environment.POSTGRES_MULTIPLE_DATABASES', extra.split(':')[0].toLowerCase(), 'database'));
  const c: Obj = { kind: 'postgres', ...(image ? { image } : {}), databases };
  // Each password variable of the convention (and its _FILE form) -> the Secret the spec manages for it.
  const passwords = new Map<string, { secret: string; whose: string }>([[conv.password, { secret: loginSecret(name, owner), whose: `the login password of ${owner}` }]]);
  if (conv.superuserPassword) passwords.set(conv.superuserPassword, { secret: secretNames.postgresSuperuser(name), whose: 'the superuser password' });
  const fileOf = (k: string) => (k.endsWith('_FILE') ? k.slice(0, -5) : undefined);
  // Variables an init script creates logins from are read there (below), not by the server.
  const initMount = (m: Mount) => m.target === '/docker-entrypoint-initdb.d' || m.target.startsWith('/docker-entrypoint-initdb.d/');
  const scripts = ((keys.config.volumes ?? []) as Mount[]).filter((m) => initMount(m) && m.type === 'bind' && m.source !== undefined && ctx.project.folder.check(m.source).ok);
  const loginsAt = new Map(scripts.map((m) => [m.target, initLogins(ctx, m, env)]));
  const scriptVars = new Set([...loginsAt.values()].flat().flatMap((l) => [l.passwordVar, ...l.vars]));
  for (const [k, v] of Object.entries(env)) {
    const password = passwords.get(k);
    const passwordFile = passwords.get(fileOf(k) ?? '');
    if (password) {
      manage(ctx, v, password.secret);
      ctx.secretFound(keys.service.name, k, `${password.whose}: a Secret the spec generates (${password.secret})`);
    } else if (passwordFile) {
      const file = /^\/run\/secrets\/(.+)$/.exec(String(v))?.[1];
      if (file) ctx.managedSecrets.set(`secret:${file}`, { secret: passwordFile.secret, key: 'password' });
    } else if ((fileOf(k) === conv.user || fileOf(k) === conv.database) && set(fileOf(k)!) === undefined) {
      const [what, field, now] = fileOf(k) === conv.user ? ['login', 'owner', owner] : ['database', 'name', db];
      keys.warn(`environment.${k}`, `the ${what} name is read from a file when the server starts, which the spec cannot see: set databases[0].${field} in stack.yaml to it (now "${now}")`);
    } else if ([conv.user, conv.database, 'POSTGRES_MULTIPLE_DATABASES', 'PGDATA'].includes(k) || scriptVars.has(k)) continue;
    else keys.warn(`environment.${k}`, 'not translated: the postgres component sets its own server environment');
  }
  for (const m of keys.take<Mount[]>('volumes') ?? []) {
    if (initMount(m)) {
      if (outsideMount(ctx, keys, m)) continue;
      const found = initDatabases(ctx, keys, m);
      for (const d of found) {
        const apart = d.owner && d.owner !== 'postgres' && !sharesSecret(databases, d.owner);
        if (d.owner && d.owner !== 'postgres' && !apart) keys.warn(`volumes.${m.target}`, `login "${d.owner}" differs from another owner only in case or in "_" versus "-", which the spec's Secret names cannot tell apart: database ${d.name} is owned by "${owner}"`);
        add(d.name, apart ? d.owner : owner);
      }
      for (const l of loginsAt.get(m.target) ?? []) {
        const login = specPgName(keys, `volumes.${m.target}`, l.login, 'login');
        // The login the script creates owns the databases it gets ALL on (an owner has at least those rights).
        for (const d of databases.filter((x) => l.databases.includes(x.name) && x.owner !== login && !sharesSecret(databases.filter((y) => y !== x), login))) {
          keys.warn(`volumes.${m.target}`, `the init script creates login "${login}" with ALL on database ${d.name}: in the spec "${login}" owns ${d.name} (it was "${d.owner}")`);
          d.owner = login;
        }
        if (!databases.some((d) => d.owner === login)) continue;
        // The value the server gives that variable (usually ${VAR} from .env, shared with the apps).
        manage(ctx, typeof env[l.passwordVar] === 'string' ? env[l.passwordVar] : `\u0001${l.passwordVar}\u0002`, loginSecret(name, login));
        ctx.secretFound(keys.service.name, l.passwordVar, `the password the init script gives ${login}: the Secret the spec generates (${loginSecret(name, login)})`);
      }
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
  rustfs: { port: 9000, data: '/data', writable: ['/tmp', '/logs'] },
  seaweedfs: { port: 8333, data: '/data', writable: ['/tmp'] },
  // Redis with modules keeps its image's own command (the redis component would drop the modules).
  redismod: { port: 6379, data: '/data', writable: ['/tmp'] },
  // Only when another service dials it (classify); otherwise the cluster's prometheus-operator replaces it.
  prometheus: { port: 9090, data: '/prometheus', writable: ['/tmp'] },
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
