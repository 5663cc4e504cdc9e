/**
 * Environment variables and env files of an application service. Plain settings stay plain (env
 * files become shared ConfigMaps); secret-looking names and `${SECRET}` references become Secret
 * references and never carry a value; a connection URL to a PostgreSQL or Redis service becomes a
 * `uses` relation (the spec derives the URL), and one to such a server outside the project a
 * relation to an external component (external.ts); any other URL embedding a secret is rebuilt
 * from the Secret at run time with Kubernetes `$(VAR)` expansion.
 */
import { basename } from 'node:path';
import { isSecretName, SECRET_MARK, secretsIn } from '../load/interpolate';
import type { EnvFile } from '../load/model';
import { kebab, type Context, type Keys } from './context';
import { externalRelations, mergedVars } from './external';
import { passwordParams } from './secret-values';
import { sharesSecret, specPgName } from './postgres-logins';
import { PG_NAME, reservedRole } from '../../model/fields';

type Obj = Record<string, any>;

/** The variable names every Kubernetes version accepts (newer ones relax this). */
const C_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const UNNAMED = (name: string) => `"${name}" is not a portable variable name (letters, digits, "_"); left out: set it in the app's configuration file instead`;

export interface AppEnv {
  readonly env: Record<string, string>;
  readonly secretEnv: Record<string, string>;
  readonly envFrom: string[];
  readonly uses: Obj[];
  /** Ports of outside hosts the service calls (URLs to hosts that are not services, API keys). */
  readonly egress: Set<number>;
}

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, postgres: 5432, postgresql: 5432, mysql: 3306, mongodb: 27017, redis: 6379, rediss: 6379, amqp: 5672, amqps: 5671 };

/** Hosts that mean the container itself. */
export const THIS_MACHINE = /^(localhost|127\.|0\.0\.0\.0)/;

/** Logins named for reading only (app_ro, readonly): a relation with read-only access. */
export const READ_ONLY_USER = /(^|_)(ro|readonly|read_only|reader)$/i;

/** An outside endpoint in a value: its port, when the host is not a service and not this machine. */
function outsidePort(ctx: Context, value: string): number | undefined {
  const u = CONNECTION_URL.exec(value);
  if (!u || ctx.project.services[u[4]] || THIS_MACHINE.test(u[4]) || u[4].includes('$(')) return undefined;
  const scheme = u[1].toLowerCase().split('+')[0];
  const port = u[5] ? Number(u[5]) : DEFAULT_PORTS[scheme];
  // A port no server can listen on is a typo; an egress rule for it would make the spec invalid.
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** scheme://user:password@host:port/path?query; groups 1-7 in that order. */
export const CONNECTION_URL = /^([a-z][a-z0-9+.-]*):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^:/?#@]+)(?::(\d+))?(\/[^?#]*)?(\?[^#]*)?$/i;

/** A Secret reference for a compose variable or a literal secret value, reusing what the spec manages. */
export function secretRefFor(ctx: Context, name: string, value: string | null, where: string): string {
  const vars = value === null ? [name] : secretsIn(value);
  // No value here: compose reads the variable of that name, which may stand for a Secret the spec manages.
  const managedVar = value === null ? ctx.managedSecrets.get(`var:${name}`) : undefined;
  if (managedVar) return `${managedVar.secret}/${managedVar.key}`;
  if (value !== null && vars.length === 1 && value === `\u0001${vars[0]}\u0002`) {
    const managed = ctx.managedSecrets.get(`var:${vars[0]}`);
    return managed ? `${managed.secret}/${managed.key}` : ctx.provide(vars[0], `\${${vars[0]}} (${where})`);
  }
  if (value !== null && vars.length === 0) {
    const managed = ctx.managedSecrets.get(`lit:${value}`);
    if (managed) return `${managed.secret}/${managed.key}`;
    const same = ctx.literalSecrets.get(value);
    if (same) return same;
    const ref = ctx.provide(name, `${name} (${where})`);
    if (value !== '') ctx.literalSecrets.set(value, ref);
    return ref;
  }
  return ctx.provide(name, `${name} (${where})`);
}

/** Replaces secret markers in text: `$(VAR)` for Kubernetes expansion, or `$VAR` for a shell. Records the Secret references. */
export function expandSecrets(ctx: Context, text: string, secretEnv: Record<string, string>, where: string, shell = false): string {
  return text.replace(SECRET_MARK, (_, v: string) => {
    secretEnv[v] ??= secretRefFor(ctx, v, `\u0001${v}\u0002`, where);
    return shell ? `\${${v}}` : `$(${v})`;
  });
}

/** Name of the envFiles entry (and ConfigMap) for an env file: ".env.api" -> "env-api", "config/worker.env" -> "worker-env". */
export function envFileName(file: EnvFile): string {
  const n = kebab(basename(file.written).replace(/^\.+/, ''));
  return /^[a-z]/.test(n) ? n.slice(0, 63) : `env-${n}`.slice(0, 63);
}

/** Variables whose plain value names a host (a bare service name elsewhere is just a word). */
const HOST_VAR = /(HOST|HOSTNAME|HOSTS|SERVER|ADDR|ADDRESS|ENDPOINT)$/i;

/** Whether a variable can sit in a shared ConfigMap as it is. */
function plain(ctx: Context, name: string, value: string): boolean {
  if (isSecretName(name) || secretsIn(value).length > 0 || ctx.detected.has(value) || passwordParams(value).length > 0) return false;
  const u = CONNECTION_URL.exec(value);
  if (!u) return !(HOST_VAR.test(name) && ctx.project.services[value]);
  return !u[3] && !ctx.project.services[u[4]];
}

export function translateEnv(ctx: Context, keys: Keys, component: string): AppEnv {
  const out: AppEnv = { env: {}, secretEnv: {}, envFrom: [], uses: [], egress: new Set() };
  keys.take('env_file');
  const pending: [string, string | null, string][] = [];
  const environment = (keys.take('environment') as Record<string, string | null>) ?? {};
  // Servers outside the project named anywhere in the service's variables; their URLs need no egress rule.
  const covered = externalRelations(ctx, keys, mergedVars(keys.service.envFiles.map((f) => f.vars), environment), out.uses);
  const egress = (name: string, port: number | undefined) => port !== undefined && !covered.has(name) && out.egress.add(port);
  for (const f of keys.service.envFiles) {
    const name = envFileName(f);
    const shared: Record<string, string> = {};
    for (const [k, v] of Object.entries(f.vars)) {
      if (!C_NAME.test(k)) keys.warn('env_file', `${f.written}: ${UNNAMED(k)}`);
      else if (plain(ctx, k, v)) shared[k] = v;
      else pending.push([k, v, `env file ${f.written}`]);
    }
    if (Object.keys(shared).length > 0) {
      ctx.envFiles[name] = shared;
      out.envFrom.push(name);
    }
  }
  for (const [k, v] of Object.entries(environment)) pending.push([k, v, `environment of ${keys.service.name}`]);
  for (const [name, value, where] of pending) {
    if (!C_NAME.test(name)) {
      if (!where.startsWith('env file')) keys.warn(`environment.${name}`, UNNAMED(name));
      continue;
    }
    delete out.env[name];
    delete out.secretEnv[name];
    // environment overrides env_file (compose's order): so does the relation the variable names.
    for (let i = out.uses.length - 1; i >= 0; i--) if ((out.uses[i].env ?? defaultEnv(ctx, out.uses[i])) === name) out.uses.splice(i, 1);
    if (value === null && !isSecretName(name)) {
      keys.warn(`environment.${name}`, 'has no value and none is set in the environment; left out');
      continue;
    }
    if (isSecretName(name)) {
      out.secretEnv[name] = secretRefFor(ctx, name, value, where);
      const refs = value === null ? [] : secretsIn(value);
      ctx.secretFound(keys.service.name, name, value === null || refs.length > 0 ? `secret-looking name, value from \${${refs[0] ?? name}}` : 'secret-looking name');
      // An API key means calls to an outside API, over HTTPS.
      if (/API_?KEY$|_TOKEN$/.test(name)) out.egress.add(443);
      continue;
    }
    if (relationFromUrl(ctx, keys, name, value!, out)) continue;
    const rule = ctx.detected.get(value!);
    if (rule && !CONNECTION_URL.exec(value!)?.[3] && passwordParams(value!).length === 0) {
      // The whole value is the secret (a token, a webhook URL): the variable becomes a Secret reference.
      out.secretEnv[name] = secretRefFor(ctx, name, value, where);
      ctx.secretFound(keys.service.name, name, rule, value!);
      egress(name, outsidePort(ctx, value!));
      continue;
    }
    let v = expandSecrets(ctx, value!, out.secretEnv, where);
    for (const s of secretsIn(value!)) ctx.secretFound(keys.service.name, name, `uses secret-looking variable \${${s}}`);
    const params = passwordParams(v);
    if (params.length > 0) {
      // A password inside a connection string: move it to a Secret and splice it back in at run time.
      const pw = `${name.replace(/_(URL|URI|DSN|CONNECTION_STRING|CONN_STR|CONN|CONNECTION)$/i, '')}_PASSWORD`;
      let rebuilt = '';
      let from = 0;
      for (const p of params) {
        const secret = v.slice(p.start, p.end);
        const managed = ctx.managedSecrets.get(`lit:${secret}`);
        out.secretEnv[pw] = managed ? `${managed.secret}/${managed.key}` : ctx.literalSecrets.get(secret) ?? ctx.provide(pw, `the password in ${name} (${where})`);
        ctx.literalSecrets.set(secret, out.secretEnv[pw]);
        ctx.secretFound(keys.service.name, name, `${p.rule}, kept as $(${pw})`, secret);
        rebuilt += `${v.slice(from, p.start)}$(${pw})`;
        from = p.end;
      }
      v = rebuilt + v.slice(from);
    }
    egress(name, outsidePort(ctx, v));
    const u = CONNECTION_URL.exec(v);
    if (u?.[3] && !u[3].startsWith('$(')) {
      // A literal password inside a URL: move it to a Secret and splice it back in at run time.
      const pw = `${name.replace(/_(URL|URI|DSN)$/, '')}_PASSWORD`;
      out.secretEnv[pw] = ctx.managedSecrets.has(`lit:${u[3]}`) ? secretRefFor(ctx, pw, u[3], where) : ctx.literalSecrets.get(u[3]) ?? ctx.provide(pw, `the password in ${name} (${where})`);
      ctx.secretFound(keys.service.name, name, `password in the URL, kept as $(${pw})`);
      v = v.replace(`:${u[3]}@`, `:$(${pw})@`);
    }
    const renamed = renameHost(ctx, name, v, component, out);
    if (renamed !== undefined) {
      out.env[name] = renamed;
      flowsIn(ctx, name, renamed, component, out);
    }
  }
  return out;
}

/**
 * Rewrites references to compose service names to component names and adds the flow (`uses`).
 * `http://api:8000` exactly is what a relation to the web component `api` derives, so it becomes
 * that relation (undefined: no variable of its own).
 */
function renameHost(ctx: Context, name: string, value: string, self: string, out: AppEnv): string | undefined {
  const u = CONNECTION_URL.exec(value);
  if (!u && !HOST_VAR.test(name)) return value;
  const host = u ? u[4] : value;
  const target = ctx.project.services[host] ? host : undefined;
  if (!target) return value;
  const comp = ctx.componentOf(target)!;
  if (u && ctx.roles.get(target) === 'web' && u[1] === 'http' && !u[2] && !u[6] && !u[7] && Number(u[5] ?? 80) === portOfWeb(ctx, target) && comp !== self) {
    replaceFlowOnly(out.uses, comp);
    out.uses.push({ to: comp, ...(name !== `${comp.toUpperCase().replace(/-/g, '_')}_URL` ? { env: name } : {}) });
    return undefined;
  }
  addFlow(ctx, { uses: out.uses, env: { ...out.env, [name]: value } }, comp, self);
  if (comp === host) return value;
  return u ? value.replace(`${u[2] !== undefined ? '@' : '//'}${host}`, `${u[2] !== undefined ? '@' : '//'}${comp}`) : comp;
}

/** Services named inside a value ("db:3306", a list of URLs): each needs a network flow. */
function flowsIn(ctx: Context, name: string, value: string, self: string, out: AppEnv): void {
  for (const service of Object.keys(ctx.project.services)) {
    const at = new RegExp(`(?:^|//|@|[\\s,;"'\\[=])${service.replace(/[.]/g, '\\.')}(:\\d+)?(?=$|[/\\s,;"'\\]?#])`).exec(value);
    if (at && (at[1] || value.includes('://') || HOST_VAR.test(name))) addFlow(ctx, { uses: out.uses, env: { ...out.env } }, ctx.componentOf(service)!, self);
  }
}

/** The port a web service will listen on (its first port), known before it is translated. */
function portOfWeb(ctx: Context, service: string): number | undefined {
  const s = ctx.project.services[service];
  const p = s.config.ports?.[0]?.target ?? (s.config.expose?.[0] !== undefined ? Number(String(s.config.expose[0]).split('/')[0]) : undefined);
  const label = Object.entries<string>(s.config.labels ?? {}).find(([k]) => /^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(k))?.[1];
  return p ?? (label ? Number(label) : undefined);
}

/** Relations addFlow made: they stand only for a flow, and give way to one a URL variable names. */
const FLOW_ONLY = new WeakSet<Obj>();

/**
 * Drops the flow-only relation to `to`, if any, before a variable's own relation to it is added:
 * REDIS_HOST=cache then REDIS_URL=redis://cache would otherwise both set REDIS_URL.
 */
function replaceFlowOnly(uses: Obj[], to: string): void {
  const i = uses.findIndex((u) => u.to === to && FLOW_ONLY.has(u));
  if (i >= 0) uses.splice(i, 1);
}

/** A relation that only admits the network flow to `to` (for targets that get no variable, or already have one). */
export function addFlow(ctx: Context, out: { uses: Obj[]; env?: Record<string, string> }, to: string, self: string): void {
  if (to === self || out.uses.some((u) => u.to === to)) return;
  const role = ctx.roleOfComponent(to);
  const env = (name: string) => freeName(ctx, out, name);
  // Neither a generic server nor a worker gets a connection variable: the relation admits the flow.
  if (role === 'stateful' || (role === 'worker' && ctx.dialable(ctx.serviceOf(to)!))) out.uses.push({ to });
  else if (role === 'web') out.uses.push({ to, env: env(`${to.toUpperCase().replace(/-/g, '_')}_URL`) });
  else if (role === 'postgres') out.uses.push({ to, env: env('DATABASE_URL') });
  else if (role === 'redis') out.uses.push({ to, env: env('REDIS_URL') });
  const last = out.uses[out.uses.length - 1];
  if (last?.to === to) FLOW_ONLY.add(last);
  if (last?.env === undefined) delete last?.env;
}

export function freeName(ctx: Context, out: { uses: Obj[]; env?: Record<string, string> }, name: string): string | undefined {
  const taken = (n: string) => out.env?.[n] !== undefined || out.uses.some((u) => (u.env ?? defaultEnv(ctx, u)) === n);
  if (!taken(name)) return /^(DATABASE_URL|REDIS_URL)$/.test(name) ? undefined : name;
  const stem = name.replace(/_URL$/, '');
  if (!taken(`${stem}_SERVICE_URL`)) return `${stem}_SERVICE_URL`;
  for (let i = 2; ; i++) if (!taken(`${stem}_${i}_URL`)) return `${stem}_${i}_URL`;
}

/** The variable a relation sets when it names none (see model/validate.ts defaultEnvName). */
function defaultEnv(ctx: Context, u: Obj): string | undefined {
  const role = ctx.roleOfComponent(u.to);
  return role === 'postgres' ? 'DATABASE_URL' : role === 'redis' ? 'REDIS_URL' : role === 'web' ? `${u.to.toUpperCase().replace(/-/g, '_')}_URL` : undefined;
}

/** A URL part percent-decoded; as written when it is not valid percent-encoding. */
export function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** DATABASE_URL / REDIS_URL (or any variable) pointing at a PostgreSQL or Redis service becomes a relation. */
function relationFromUrl(ctx: Context, keys: Keys, name: string, value: string, out: AppEnv): boolean {
  const u = CONNECTION_URL.exec(value);
  if (!u) return false;
  const [, scheme, user, , host, port, path, query] = u;
  const service = ctx.project.services[host];
  const role = service && ctx.roles.get(host);
  const to = service && ctx.componentOf(host)!;
  if (!to || (role !== 'postgres' && role !== 'redis')) return false;
  if (role === 'postgres' && !/^postgres/.test(scheme)) return false;
  if (role === 'redis' && !/^rediss?$/.test(scheme)) return false;
  const rel: Obj = { to };
  if (role === 'postgres') {
    const pg = ctx.components[to];
    // libpq takes both names as written (no case folding), percent-decoded.
    const written = decoded((path ?? '').replace(/^\//, ''));
    const db = written ? specPgName(keys, `environment.${name}`, written, 'database') : pg.databases[0].name;
    const login = user === undefined ? undefined : decoded(user);
    const readOnly = READ_ONLY_USER.test(login ?? '');
    if (!pg.databases.some((d: Obj) => d.name === db)) {
      const own = !readOnly && login && PG_NAME.test(login) && !reservedRole(login) && login !== 'postgres' && !sharesSecret(pg.databases, login);
      const owner = own ? login : pg.databases[0].owner;
      pg.databases.push({ name: db, owner });
      ctx.note(host, `database ${db} (owner ${owner}) added: ${keys.service.name} connects to it`);
    }
    if (db !== pg.databases[0].name) rel.database = db;
    if (readOnly) rel.access = 'read-only';
    const owner = pg.databases.find((d: Obj) => d.name === db).owner;
    if (login && !readOnly && login !== owner) keys.warn(`environment.${name}`, `connects as "${login}"; the spec gives ${keys.service.name} the login of the database owner, "${owner}"`);
    if (scheme !== 'postgresql') rel.scheme = scheme;
  } else {
    const db = Number((path ?? '/0').replace(/^\//, '') || 0);
    if (db > 0) rel.redisDb = db;
    if (scheme !== 'redis') rel.scheme = scheme;
    if (value.includes('@')) ctx.components[to].password = true;
  }
  if (name !== (role === 'postgres' ? 'DATABASE_URL' : 'REDIS_URL')) rel.env = name;
  if (port && Number(port) !== (role === 'postgres' ? 5432 : 6379)) keys.warn(`environment.${name}`, `dials port ${port}; the ${role} component listens on its standard port`);
  // The query is shown, with any password in it masked: warnings are printed.
  if (query) keys.warn(`environment.${name}`, `the query "${query.replace(/([?&](?:password|pwd|pass)=)[^&]*/gi, '$1***')}" is not carried over: the spec derives the URL from the relation`);
  replaceFlowOnly(out.uses, to);
  out.uses.push(rel);
  ctx.note(keys.service.name, `${name} -> uses ${to}${rel.database ? ` (database ${rel.database}${rel.access ? ', read-only' : ''})` : ''}${rel.redisDb ? ` (db ${rel.redisDb})` : ''}`);
  return true;
}
