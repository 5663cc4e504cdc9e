/**
 * The login and databases a PostgreSQL service creates at first start, read from the variables its
 * image takes, with names kept as PostgreSQL keeps them: POSTGRES_USER=yourUser is the role
 * yourUser (the official image quotes it, libpq does not fold case), not youruser.
 */
import { reservedRole } from '../../model/fields';
import { loginLabel } from '../../model/relations';
import type { Keys } from './context';

type Obj = Record<string, any>;

/** The variables one family of images reads its first login and databases from. */
export interface Convention {
  readonly image: string;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** The superuser's own password, when the image has one apart from the login's. */
  readonly superuserPassword?: string;
  /** The database when none is named: the login's name (official) or the maintenance database. */
  readonly defaultDatabase: 'login' | 'postgres';
  /** The database variable holds a comma list. */
  readonly list?: boolean;
  /** The official image's entrypoint, which the postgres component runs. */
  readonly official?: boolean;
}

export const CONVENTIONS: readonly Convention[] = [
  // postgis, timescaledb and pgvector images are built on it; bitnami's also reads these names as aliases.
  { image: 'the official postgres image', user: 'POSTGRES_USER', password: 'POSTGRES_PASSWORD', database: 'POSTGRES_DB', defaultDatabase: 'login', official: true },
  { image: 'bitnami/postgresql', user: 'POSTGRESQL_USERNAME', password: 'POSTGRESQL_PASSWORD', database: 'POSTGRESQL_DATABASE', superuserPassword: 'POSTGRESQL_POSTGRES_PASSWORD', defaultDatabase: 'postgres' },
  { image: 'sameersbn/postgresql', user: 'DB_USER', password: 'DB_PASS', database: 'DB_NAME', superuserPassword: 'PG_PASSWORD', defaultDatabase: 'login', list: true },
];

/** Images that run the official entrypoint, where another image's variables mean nothing. */
const OFFICIAL = /^(postgres|postgis\/postgis|timescale\/timescaledb(-ha)?|pgvector\/pgvector)$/;

function variablesOf(c: Convention): string[] {
  return [c.user, c.password, c.database, c.superuserPassword].filter((k): k is string => k !== undefined).flatMap((k) => [k, `${k}_FILE`]);
}

/**
 * The convention a service follows: the official one when any of its variables is set or the image
 * is official, otherwise the first other image family whose variables the service sets.
 */
export function conventionOf(env: Obj, image: string | undefined): Convention {
  const [official, ...others] = CONVENTIONS;
  const repo = (image ?? '').split('@')[0].replace(/:[^/]*$/, '').replace(/^(docker\.io\/)?(library\/)?/, '');
  if (OFFICIAL.test(repo) || variablesOf(official).some((k) => k in env)) return official;
  return others.find((c) => variablesOf(c).some((k) => k in env)) ?? official;
}

/** The variables of a convention a service sets, for messages. */
export function setVariables(c: Convention, env: Obj): string[] {
  return variablesOf(c).filter((k) => k in env);
}

/**
 * A database or login name from compose as the spec takes it (model/fields.ts pgName): case kept,
 * any other character "_", at most 63. A change is a warning naming the variable: clients must use
 * the new name. A reserved role name stops the import, as PostgreSQL would refuse it.
 */
export function specPgName(keys: Keys, key: string, written: string, what: 'login' | 'database'): string {
  let name = written.replace(/[^A-Za-z0-9_-]/g, '_');
  if (!/^[A-Za-z_]/.test(name)) name = `_${name}`;
  name = name.slice(0, 63);
  if (what === 'login' && reservedRole(name)) keys.fail(key, `"${written}" is a role name PostgreSQL reserves ("public", "none" and names starting with "pg_"), so the server refuses it: choose another login`);
  if (name !== written) keys.warn(key, `${what} "${written}" is not a name the spec takes (letters, digits, "_" and "-", at most 63): it is "${name}" in the spec, so clients must ${what === 'login' ? 'log in as' : 'connect to'} "${name}"`);
  return name;
}

/**
 * Whether a login would share its Secret with another owner of the server ("App" beside "app"),
 * which the spec refuses (model/validate-postgres.ts): the importer then keeps the owner it has.
 */
export function sharesSecret(databases: readonly { owner?: string }[], login: string): boolean {
  return databases.some((d) => d.owner !== undefined && d.owner !== login && loginLabel(d.owner) === loginLabel(login));
}
