/**
 * Everything that follows from "A uses B": the connection variables A gets, the logins and Secrets
 * B needs, and the network flow. Declared once in the spec, derived here, nowhere else.
 */
import { createHash } from 'node:crypto';
import type { Component, PostgresComponent, RedisComponent, Relation, StackSpec, WorkerComponent } from './schema';

export interface NormalizedRelation {
  readonly to: string;
  readonly database?: string;
  readonly access?: 'read-write' | 'read-only';
  readonly redisDb?: number;
  readonly env?: string;
  readonly scheme?: string;
}


/** The variable a relation's connection URL lands in unless `env` says otherwise. */
export function defaultEnvName(kind: string, to: string): string {
  if (kind === 'postgres') return 'DATABASE_URL';
  if (kind === 'redis') return 'REDIS_URL';
  return `${to.toUpperCase().replace(/-/g, '_')}_URL`;
}

export function normalizeRelation(r: Relation | string): NormalizedRelation {
  return typeof r === 'string' ? { to: r } : r;
}

/** An environment variable: a literal or a key of a Secret. Literals may use `$(VAR)` expansion. */
export type EnvVar = { name: string; value: string } | { name: string; secret: { name: string; key: string } };

export const POSTGRES_PORT = 5432;
export const REDIS_PORT = 6379;

/**
 * A login (case kept, "_" and "-" allowed) as it appears in Kubernetes names, which are lower-case
 * DNS labels: lower-case, "_" as "-". Not one-to-one ("App" and "app" map alike), so validation
 * refuses two logins of one server whose Secret names would be the same (model/validate-postgres.ts).
 */
export function loginLabel(user: string): string {
  return user.toLowerCase().replace(/_/g, '-');
}

/** A name cut to a DNS label's 63 characters; a cut one ends in a hash of the whole, so it stays distinct. */
function fitLabel(name: string): string {
  const whole = name.replace(/-+$/, '');
  if (whole.length <= 63) return whole;
  return `${whole.slice(0, 56).replace(/-+$/, '')}-${createHash('sha256').update(whole).digest('hex').slice(0, 6)}`;
}

export const secretNames = {
  postgresSuperuser: (pg: string) => `${pg}-superuser`,
  /** The superuser "postgres" owning a database (an app that used it keeps it) logs in with the superuser's Secret. */
  postgresLogin: (pg: string, user: string) => (user === 'postgres' ? `${pg}-superuser` : fitLabel(`${pg}-user-${loginLabel(user)}`)),
  redisAuth: (redis: string) => `${redis}-auth`,
  pgadminLogin: (pgadmin: string) => `${pgadmin}-login`,
};

export interface PostgresLogin {
  readonly user: string;
  readonly database: string;
  readonly access: 'read-write' | 'read-only';
  readonly secretName: string;
}

/** The login roles a PostgreSQL component must have: each database owner, plus one read-only role per database read that way. */
export function postgresLogins(spec: StackSpec, pgName: string): PostgresLogin[] {
  const pg = spec.components[pgName] as PostgresComponent;
  const logins = new Map<string, PostgresLogin>();
  for (const db of pg.databases) {
    if (!logins.has(db.owner)) logins.set(db.owner, { user: db.owner, database: db.name, access: 'read-write', secretName: secretNames.postgresLogin(pgName, db.owner) });
  }
  for (const c of Object.values(spec.components)) {
    for (const r of usesOf(c)) {
      if (r.to !== pgName || r.access !== 'read-only') continue;
      const database = r.database ?? pg.databases[0].name;
      const user = readOnlyLogin(database);
      logins.set(user, { user, database, access: 'read-only', secretName: secretNames.postgresLogin(pgName, user) });
    }
  }
  return [...logins.values()];
}

export function usesOf(c: Component): NormalizedRelation[] {
  return 'uses' in c && c.uses ? c.uses.map(normalizeRelation) : [];
}

/** The login of a database's read-only relations. */
export function readOnlyLogin(database: string): string {
  return `${database}_ro`;
}

function loginFor(pg: PostgresComponent, r: NormalizedRelation): { user: string; database: string } {
  const database = r.database ?? pg.databases[0].name;
  if (r.access === 'read-only') return { user: readOnlyLogin(database), database };
  return { user: pg.databases.find((d) => d.name === database)!.owner, database };
}

/** The kinds of server a spec may place outside the cluster (`external`). */
export type ExternalCapable = PostgresComponent | RedisComponent;

/** A server that runs outside the cluster: nothing of it is deployed, clients dial its host. */
export function isExternal(c: Component): c is ExternalCapable & { external: NonNullable<ExternalCapable['external']> } {
  return (c.kind === 'postgres' || c.kind === 'redis') && c.external !== undefined;
}

/** Where a client reaches a component: its Service, or the external host. */
export function endpointOf(spec: StackSpec, name: string): { host: string; port: number } {
  const c = spec.components[name];
  if (c.kind === 'postgres' || c.kind === 'redis') {
    const standard = c.kind === 'postgres' ? POSTGRES_PORT : REDIS_PORT;
    return c.external ? { host: c.external.host, port: c.external.port ?? standard } : { host: name, port: standard };
  }
  if (c.kind === 'web') return { host: name, port: c.port };
  if (c.kind === 'stateful') return { host: name, port: c.ports[0].port };
  if (c.kind === 'worker' && servedPorts(c).length > 0) return { host: name, port: servedPorts(c)[0] };
  throw new Error(`${name} (${c.kind}) is not reachable as a service`);
}

/** Every port a component accepts connections on (its endpoint first). */
export function portsOfComponent(spec: StackSpec, name: string): number[] {
  const c = spec.components[name];
  if (c.kind === 'web') return [c.port, ...(c.extraPorts ?? []).map((p) => p.port)];
  if (c.kind === 'stateful') return c.ports.map((p) => p.port);
  if (c.kind === 'worker') return servedPorts(c);
  return [endpointOf(spec, name).port];
}

/** What a continuous worker serves to the stack: its ports, then its health port. A scheduled one serves nothing. */
export function servedPorts(c: WorkerComponent): number[] {
  if (c.mode !== 'continuous') return [];
  return [...new Set([...(c.ports ?? []).map((p) => p.port), ...(c.healthPort !== undefined ? [c.healthPort] : [])])];
}

/**
 * The variables a component gets from its relations, in the order Kubernetes must expand them.
 * A stateful server or a worker has no standard URL form, so a relation to one carries the network flow only.
 */
export function connectionEnv(spec: StackSpec, componentName: string): EnvVar[] {
  const out: EnvVar[] = [];
  for (const r of usesOf(spec.components[componentName])) {
    const target = spec.components[r.to];
    const urlVar = r.env ?? defaultEnvName(target.kind, r.to);
    const passwordVar = `${urlVar.replace(/_URL$/, '')}_PASSWORD`;
    // Neither a generic server nor a worker has a standard URL form: the relation carries the flow only.
    if (target.kind === 'stateful' || target.kind === 'worker') continue;
    const { host, port } = endpointOf(spec, r.to);
    if (target.kind === 'postgres') {
      const { user, database } = loginFor(target, r);
      out.push({ name: passwordVar, secret: { name: secretNames.postgresLogin(r.to, user), key: 'password' } });
      // Names may hold capitals and "-", which URLs carry as they are; encoding keeps any other character safe.
      out.push({ name: urlVar, value: `${r.scheme ?? 'postgresql'}://${encodeURIComponent(user)}:$(${passwordVar})@${host}:${port}/${encodeURIComponent(database)}` });
    } else if (target.kind === 'redis') {
      const db = r.redisDb ?? 0;
      if (target.password !== false) {
        out.push({ name: passwordVar, secret: { name: secretNames.redisAuth(r.to), key: 'password' } });
        out.push({ name: urlVar, value: `${r.scheme ?? 'redis'}://:$(${passwordVar})@${host}:${port}/${db}` });
      } else {
        out.push({ name: urlVar, value: `${r.scheme ?? 'redis'}://${host}:${port}/${db}` });
      }
    } else {
      out.push({ name: urlVar, value: `${r.scheme ?? 'http'}://${host}:${port}` });
    }
  }
  return out;
}

/** A Secret the stack reads but never writes; the secrets command creates it. */
export interface SecretRequirement {
  readonly name: string;
  readonly keys: readonly string[];
  /** `generated`: a random value is right (passwords); `provided`: the user must supply it (API keys). */
  readonly source: 'generated' | 'provided';
  readonly usedBy: readonly string[];
}

/**
 * The environment variable the secrets command reads a provided value from: named after the key
 * (fred-api-key -> FRED_API_KEY), or after Secret and key when the key alone is generic or shared by
 * several Secrets (an external server's db-user-app/password -> DB_USER_APP_PASSWORD).
 */
export function providedVariable(secret: string, key: string, shared = false): string {
  return (shared || key === 'password' ? `${secret}_${key}` : key).toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

/** Every Secret the enabled components of a stack reference, merged by name. */
export function requiredSecrets(spec: StackSpec, enabled: (name: string) => boolean = () => true): SecretRequirement[] {
  const found = new Map<string, { keys: Set<string>; source: 'generated' | 'provided'; usedBy: Set<string> }>();
  const need = (name: string, key: string, source: 'generated' | 'provided', by: string) => {
    const entry = found.get(name) ?? { keys: new Set(), source, usedBy: new Set() };
    entry.keys.add(key);
    entry.usedBy.add(by);
    if (source === 'provided') entry.source = 'provided';
    found.set(name, entry);
  };
  for (const [name, c] of Object.entries(spec.components)) {
    if (!enabled(name)) continue;
    if (c.kind === 'postgres') {
      if (!c.external) need(secretNames.postgresSuperuser(name), 'password', 'generated', name);
      for (const l of postgresLogins(spec, name)) need(l.secretName, 'password', c.external ? 'provided' : 'generated', name);
    }
    // An external server already has its passwords: the user provides them, a random one would not log in.
    if (c.kind === 'redis' && c.password !== false) need(secretNames.redisAuth(name), 'password', c.external ? 'provided' : 'generated', name);
    if (c.kind === 'pgadmin') need(secretNames.pgadminLogin(name), 'password', 'generated', name);
    for (const v of connectionEnv(spec, name)) if ('secret' in v) need(v.secret.name, v.secret.key, 'generated', name);
    if ('secretEnv' in c) for (const ref of Object.values(c.secretEnv ?? {})) need(ref.secret, ref.key, 'provided', name);
    if ('secretFiles' in c) for (const ref of Object.values(c.secretFiles ?? {})) need(ref.secret, ref.key, 'provided', name);
  }
  return [...found.entries()]
    .map(([name, e]) => ({ name, keys: [...e.keys].sort(), source: e.source, usedBy: [...e.usedBy].sort() }))
    .sort((a, b) => a.name.localeCompare(b.name));
}
