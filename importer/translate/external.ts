/**
 * PostgreSQL and Redis servers outside the compose project: a managed database, a server on the
 * network, the machine compose ran on (host.docker.internal). A service that names one, by URL
 * (`postgresql://app:${PW}@db.example.com/app`, `rediss://…`) or by host and port variables
 * (`DB_HOST`, `PGHOST`, `REDIS_HOST`…), gets a relation to an `external` component standing for it,
 * one per engine, host and port, so NetworkPolicies let it out to that port; its variables keep the
 * values the app reads. The password it logs in with is the Secret the spec derives for that login
 * (model/relations.ts), which the user provides. Other engines keep a plain egress rule.
 */
import { serverHost } from '../../model/fields';
import { postgresLogins, secretNames } from '../../model/relations';
import type { StackSpec } from '../../model/schema';
import { isSecretName, secretMark, secretsIn } from '../load/interpolate';
import { componentName, type Context, type ExternalServer, type Keys } from './context';
import { specPgName } from './postgres-logins';
import { CONNECTION_URL, decoded, freeName, READ_ONLY_USER, THIS_MACHINE } from './env';

type Obj = Record<string, any>;
type Engine = ExternalServer['engine'];

const STANDARD_PORT: Record<Engine, number> = { postgres: 5432, redis: 6379 };
const ENGINE_NAME: Record<Engine, string> = { postgres: 'PostgreSQL', redis: 'Redis' };

/** Names for the machine compose ran on, which a cluster does not have. */
const DOCKER_HOST = /^((host|gateway)\.docker\.internal|host\.containers\.internal|docker\.for\.(mac|win)\.(host\.internal|localhost))$/;

/** A variable naming a server's host; group 1 is the prefix its companions share (DB_, PG, REDIS_). */
const HOST_VARIABLE = /^(.*?)(HOST|HOSTNAME|SERVER|ADDR|ADDRESS)$/i;

/** One mention of an outside server in a service's environment. */
interface Mention {
  readonly engine: Engine;
  readonly host: string;
  readonly port: number;
  /** The variable holding the URL, or the host. */
  readonly variable: string;
  readonly url: boolean;
  readonly user?: string;
  readonly database?: string;
  /** As written: a secret marker, a literal, or undefined when compose gives none. */
  readonly password?: string;
  readonly scheme?: string;
}

function engineOfScheme(scheme: string): Engine | undefined {
  const base = scheme.toLowerCase().split('+')[0];
  if (base === 'postgres' || base === 'postgresql') return 'postgres';
  if (base === 'redis' || base === 'rediss') return 'redis';
  return undefined;
}

/** The engine behind DB_HOST-style variables: the prefix, else the port or an engine setting beside it. */
function engineOfPrefix(prefix: string, vars: ReadonlyMap<string, string>): Engine | undefined {
  if (/POSTGRES|PSQL|(^|_)PG_?$/i.test(prefix)) return 'postgres';
  if (/REDIS/i.test(prefix)) return 'redis';
  if (!/(^|_)(DB|DATABASE|SQL)_?$/i.test(prefix)) return undefined;
  const hint = ['ENGINE', 'TYPE', 'DRIVER', 'DIALECT', 'CONNECTION', 'BACKEND'].map((s) => vars.get(`${prefix}${s}`)).find(Boolean);
  if (hint) return /postgres|pgsql|psql/i.test(hint) ? 'postgres' : /redis/i.test(hint) ? 'redis' : undefined;
  const port = vars.get(`${prefix}PORT`);
  return port === '5432' ? 'postgres' : port === '6379' ? 'redis' : undefined;
}

function urlMention(variable: string, value: string): Mention | undefined {
  const u = CONNECTION_URL.exec(value);
  const engine = u && engineOfScheme(u[1]);
  if (!u || !engine) return undefined;
  const [, scheme, user, password, host, port, path] = u;
  return { engine, host, port: port ? Number(port) : STANDARD_PORT[engine], variable, url: true, user: user || undefined, database: path?.replace(/^\//, '') || undefined, password: password || undefined, scheme: scheme.toLowerCase() };
}

function hostMention(variable: string, value: string, vars: ReadonlyMap<string, string>): Mention | undefined {
  const m = HOST_VARIABLE.exec(variable);
  const at = /^([^:/\s]+)(?::(\d+))?$/.exec(value.trim());
  const engine = m && at && engineOfPrefix(m[1], vars);
  if (!m || !at || !engine) return undefined;
  const get = (...suffixes: string[]) => suffixes.map((s) => vars.get(`${m[1]}${s}`)).find((v) => v !== undefined && v !== '');
  const port = at[2] ?? get('PORT');
  return {
    engine,
    host: at[1],
    port: port && /^\d+$/.test(port) ? Number(port) : STANDARD_PORT[engine],
    variable,
    url: false,
    user: get('USER', 'USERNAME'),
    database: engine === 'postgres' ? get('NAME', 'DB', 'DATABASE', 'DBNAME') : get('DB', 'DATABASE'),
    password: get('PASSWORD', 'PASS', 'PASSWD'),
  };
}

/** A host the cluster would reach outside the stack: not a service, not this machine, no variable left in it. */
function outside(ctx: Context, host: string): boolean {
  if (host === '' || host.includes('\u0001') || host.includes('$(') || THIS_MACHINE.test(host) || ctx.serviceByHost(host)) return false;
  // A single word that is no service is more likely a service left out (a profile) than a server outside.
  return host.includes('.');
}

/** A DNS-label component name from the host, clashing with no other component. */
function nameFor(ctx: Context, engine: Engine, host: string): string {
  const taken = (n: string) => [...ctx.names.values()].includes(n) || [...ctx.externals.values()].some((e) => e.component === n);
  const labels = host.split('.');
  const stems = DOCKER_HOST.test(host) ? [`host-${engine}`] : /^\d+(\.\d+){3}$/.test(host) ? [`${engine}-${labels.join('-')}`] : labels.map((_, i) => labels.slice(0, i + 1).join('-'));
  const fit = (s: string) => {
    const n = componentName(s);
    return (n === s.toLowerCase() ? n : componentName(`${engine}-${s}`)).slice(0, 63).replace(/-+$/, '');
  };
  const candidates = [...stems.map(fit), fit(`${stems[0]}-${engine}`)];
  const free = candidates.find((n) => !taken(n));
  if (free) return free;
  for (let i = 2; ; i++) if (!taken(`${candidates[0].slice(0, 59)}-${i}`)) return `${candidates[0].slice(0, 59)}-${i}`;
}

function serverFor(ctx: Context, m: Mention, host: string): ExternalServer {
  const id = `${m.engine} ${host}:${m.port}`;
  const known = ctx.externals.get(id);
  if (known) return known;
  const server: ExternalServer = { component: nameFor(ctx, m.engine, host), engine: m.engine, host, port: m.port, clients: [], passwords: new Map(), guessedOwners: new Set() };
  ctx.externals.set(id, server);
  const external = { host, ...(m.port !== STANDARD_PORT[m.engine] ? { port: m.port } : {}) };
  ctx.components[server.component] = m.engine === 'postgres' ? { kind: 'postgres', external, databases: [] } : { kind: 'redis', external, password: false };
  return server;
}

/**
 * The password a client gives stands for the Secret of its login: the compose variable (or literal)
 * is managed as that Secret, so the app's own variable reads the same value. Records where it was.
 */
function managePassword(ctx: Context, keys: Keys, server: ExternalServer, m: Mention, secret: string, login?: string): void {
  if (m.password === undefined) return;
  const vars = secretsIn(m.password);
  const key = vars.length === 0 ? `lit:${m.password}` : vars.length === 1 && m.password === secretMark(vars[0]) ? `var:${vars[0]}` : undefined;
  if (!key) return;
  if (!ctx.managedSecrets.has(key)) ctx.managedSecrets.set(key, { secret, key: 'password' });
  // Already the Secret of another login or server: the app reads that one, and this Secret's value comes from nowhere in compose.
  if (ctx.managedSecrets.get(key)!.secret !== secret) return;
  const where = `environment of ${keys.service.name}`;
  if (!server.passwords.has(secret)) server.passwords.set(secret, { login, from: vars.length ? `\${${vars[0]}} (${where})` : `the password in ${m.variable} (${where})` });
}

/** The relation fields a PostgreSQL client needs (database, read-only access), adding the database it names. */
function postgresRelation(ctx: Context, keys: Keys, server: ExternalServer, m: Mention): Obj {
  const pg = ctx.components[server.component];
  // Names as libpq sends them: percent-decoded, case kept (a name the spec cannot take is a warning).
  const plainText = (s: string | undefined, what: 'login' | 'database') => {
    if (!s || s.includes('\u0001')) return undefined;
    return specPgName(keys, `environment.${m.variable}`, decoded(s), what);
  };
  const user = plainText(m.user, 'login');
  const readOnly = user !== undefined && READ_ONLY_USER.test(user);
  const database = plainText(m.database, 'database') ?? user ?? 'postgres';
  let entry = pg.databases.find((d: Obj) => d.name === database);
  if (!entry) {
    // A read-only login (or none) does not say who owns the database: its name is the guess until an owner shows up.
    entry = { name: database, owner: user && !readOnly ? user : database };
    pg.databases.push(entry);
    if (!user || readOnly) server.guessedOwners.add(database);
  } else if (user && !readOnly && server.guessedOwners.has(database)) {
    entry.owner = user;
    server.guessedOwners.delete(database);
  }
  const rel: Obj = {};
  if (database !== pg.databases[0].name) rel.database = database;
  if (readOnly) rel.access = 'read-only';
  if (m.scheme && m.scheme !== 'postgresql') rel.scheme = m.scheme;
  if (user && !readOnly && user !== entry.owner) {
    keys.warn(`environment.${m.variable}`, `connects as "${user}"; the spec knows "${entry.owner}" as the owner of ${database} on ${server.host}, whose login the relation's variables carry; ${user}'s password stays in its own Secret`);
    return rel;
  }
  managePassword(ctx, keys, server, m, secretNames.postgresLogin(server.component, readOnly ? `${database}_ro` : entry.owner), user);
  return rel;
}

function redisRelation(ctx: Context, keys: Keys, server: ExternalServer, m: Mention): Obj {
  const rel: Obj = {};
  if (m.password !== undefined) {
    ctx.components[server.component].password = true;
    managePassword(ctx, keys, server, m, secretNames.redisAuth(server.component));
  }
  const db = Number(m.database);
  if (Number.isInteger(db) && db > 0 && db <= 15) rel.redisDb = db;
  if (m.scheme && m.scheme !== 'redis') rel.scheme = m.scheme;
  return rel;
}

/**
 * Finds the outside servers a service's variables (env files, then `environment`) name, makes or
 * reuses their components, and adds one relation per server to `uses`, under a variable name the
 * app does not set. Returns the variables whose URL a relation now covers (they need no egress rule).
 */
export function externalRelations(ctx: Context, keys: Keys, vars: ReadonlyMap<string, string>, uses: Obj[]): Set<string> {
  const covered = new Set<string>();
  // The relation's variables (X_URL and X_PASSWORD) must not replace any the app sets.
  const appNames: Record<string, string> = {};
  for (const n of vars.keys()) appNames[n] = appNames[n.replace(/_PASSWORD$/, '_URL')] = '';
  for (const [name, value] of vars) {
    const m = urlMention(name, value) ?? hostMention(name, value, vars);
    if (!m || !outside(ctx, m.host)) continue;
    const host = m.host.toLowerCase();
    const checked = serverHost.safeParse(host);
    const portProblem = m.port < 1 || m.port > 65535;
    const problem = !checked.success ? `"${m.host}" ${checked.error.issues[0].message}` : portProblem ? `its port ${m.port} must be 1-65535` : undefined;
    if (problem) {
      keys.warn(`environment.${name}`, `names a ${ENGINE_NAME[m.engine]} server outside the project, but ${problem}: no external component is made${m.url && !portProblem ? ` (egress to port ${m.port} stays open)` : ''}; correct the address, then add an external ${m.engine} component and a relation to it`);
      continue;
    }
    const server = serverFor(ctx, m, host);
    if (!server.clients.some((c) => c.service === keys.service.name)) server.clients.push({ service: keys.service.name, variable: name });
    const rel = { to: server.component, ...(m.engine === 'postgres' ? postgresRelation(ctx, keys, server, m) : redisRelation(ctx, keys, server, m)) };
    if (m.url) covered.add(name);
    if (uses.some((u) => u.to === server.component)) continue;
    const env = freeName(ctx, { uses, env: appNames }, m.engine === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL');
    uses.push(env ? { ...rel, env } : rel);
    ctx.note(keys.service.name, `${name} -> uses ${server.component} (external ${ENGINE_NAME[m.engine]} at ${host}:${m.port})`);
  }
  return covered;
}

/** Values of a service's variables as compose merges them; a secret one without a value is its own `${NAME}`. */
export function mergedVars(files: readonly Record<string, string>[], environment: Record<string, string | null>): Map<string, string> {
  const vars = new Map<string, string>();
  for (const f of files) for (const [k, v] of Object.entries(f)) vars.set(k, v);
  for (const [k, v] of Object.entries(environment)) {
    if (v !== null) vars.set(k, v);
    else if (isSecretName(k)) vars.set(k, secretMark(k));
    else vars.delete(k);
  }
  return vars;
}

/**
 * After every service is read: the Secrets each external server needs (one per login the
 * relations use, or its Redis password) become Secrets to provide, and one warning per server says
 * which service named it, where, and what the user must give.
 */
export function reportExternals(ctx: Context): void {
  for (const s of ctx.externals.values()) {
    const c = ctx.components[s.component];
    const logins: [secret: string, login?: string][] =
      s.engine === 'postgres'
        ? postgresLogins({ components: ctx.components } as unknown as StackSpec, s.component).map((l) => [l.secretName, s.passwords.get(l.secretName)?.login ?? l.user])
        : c.password
          ? [[secretNames.redisAuth(s.component)]]
          : [];
    for (const [secret, login] of logins) {
      const from = s.passwords.get(secret)?.from ?? `the password of ${login ? `login ${login} on ` : ''}${s.host} (compose gives none)`;
      ctx.provided.set(`${secret}/password`, { secret, key: 'password', from });
    }
    const [first, ...others] = s.clients;
    const also = others.length ? `, also named by ${others.map((o) => `${o.service} (${o.variable})`).join(', ')}` : '';
    const list = logins.map(([secret, login]) => `${secret}${login ? ` (login ${login})` : ''}`);
    const need = logins.length === 0
      ? 'it is reached without a password (password: false)'
      : `provide the password${logins.length > 1 ? 's' : ''} the server expects in the Secret${logins.length > 1 ? 's' : ''} ${list.length > 1 ? `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}` : list[0]}`;
    const docker = DOCKER_HOST.test(s.host) ? `; ${s.host} is the machine compose ran on, which a cluster does not have: set components.${s.component}.external.host to the server's real address` : '';
    ctx.warn(first.service, `environment.${first.variable}`, `${ENGINE_NAME[s.engine]} at ${s.host}:${s.port} is outside the project: it becomes the external component ${s.component}${also}; ${need}${docker}`);
  }
}
