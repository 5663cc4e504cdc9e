/**
 * `stackport psql`, `redis-cli`, `backup` and `restore`: the database tools, run inside the server's
 * own pod (kubectl exec), so nothing is exposed and the tools match the server's version. Logins use
 * the password files the pods already mount; no password is typed or printed.
 */
import { closeSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { POSTGRES_PORT } from '../model/relations';
import type { PostgresComponent, RedisComponent } from '../model/schema';
import { OpsError } from './exec';
import type { Target } from './target';

const SOCKET = '/var/run/postgresql';
/** The superuser password file the postgres chart mounts (POSTGRES_PASSWORD_FILE). */
const SUPERUSER = 'PGPASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"';

export interface DatabaseRef {
  readonly component: string;
  readonly database: string;
  /** The server's pod (StatefulSet pod 0). */
  readonly pod: string;
}

/**
 * DB is a database name or a postgres component. A component with several databases means its first
 * one where a default is harmless (psql), and is refused where it is not (backup, restore).
 */
export function findDatabase(t: Target, name: string, opts: { requireOne?: boolean } = {}): DatabaseRef {
  const servers = Object.entries(t.stack.components).filter(([, c]) => c.kind === 'postgres') as [string, PostgresComponent][];
  const inCluster = servers.filter(([, c]) => !c.external);
  for (const [component, c] of inCluster) {
    if (c.databases.some((d) => d.name === name)) return { component, database: name, pod: `${component}-0` };
  }
  const server = inCluster.find(([component]) => component === name);
  if (server) {
    const [component, c] = server;
    if (opts.requireOne && c.databases.length > 1) throw new OpsError(`${component} holds ${c.databases.length} databases (${c.databases.map((d) => d.name).join(', ')}): name the one to use`, 2);
    if (c.databases.length > 1) process.stderr.write(`note: ${component} holds ${c.databases.map((d) => d.name).join(', ')}; using ${c.databases[0].name}\n`);
    return { component, database: c.databases[0].name, pod: `${component}-0` };
  }
  const external = servers.find(([component, c]) => c.external && (component === name || c.databases.some((d) => d.name === name)));
  if (external) throw new OpsError(`${external[0]} is an external server (${external[1].external!.host}): connect to it with your own tools`);
  const known = inCluster.flatMap(([component, c]) => [component, ...c.databases.map((d) => d.name)]);
  throw new OpsError(`no database "${name}" in ${t.specFile ?? 'the stack'} (${t.environment}): expected one of ${known.join(', ') || '(none: the stack runs no PostgreSQL)'}`, 2);
}

/** `kubectl exec` into the server's container, stdin passed on; `tty` when a person is typing. */
function execArgs(t: Target, ref: { pod: string; component: string }, container: string, script: string, tty: boolean): string[] {
  return ['-n', t.stack.namespace, 'exec', '-i', ...(tty ? ['-t'] : []), ref.pod, '-c', container, '--', 'sh', '-c', script];
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function psql(t: Target, name: string, o: { readOnly?: boolean; command?: string; extra?: string[] }): number {
  const ref = findDatabase(t, name);
  const args = ['-v', 'ON_ERROR_STOP=1', '-h', SOCKET, '-p', String(POSTGRES_PORT), '-U', 'postgres', '-d', ref.database, ...(o.command ? ['-c', o.command] : []), ...(o.extra ?? [])];
  // A read-only session: every transaction starts read only, so a slip cannot change data.
  const env = o.readOnly ? `PGOPTIONS='-c default_transaction_read_only=on' ` : '';
  const script = `${SUPERUSER} ${env}exec psql ${args.map(quote).join(' ')}`;
  process.stderr.write(`${ref.component}/${ref.database}${o.readOnly ? ' (read only)' : ''} in ${t.stack.namespace}\n`);
  return t.kubectl.attached(execArgs(t, ref, 'postgres', script, !o.command && Boolean(process.stdin.isTTY)), 'inherit').status;
}

export function redisCli(t: Target, name: string | undefined, extra: string[]): number {
  const servers = Object.entries(t.stack.components).filter(([, c]) => c.kind === 'redis') as [string, RedisComponent][];
  const server = name ? servers.find(([n]) => n === name) : servers.find(([, c]) => !c.external) ?? servers[0];
  if (!server) throw new OpsError(name ? `no Redis component "${name}" (expected one of ${servers.map(([n]) => n).join(', ') || 'none'})` : 'the stack runs no Redis', 2);
  if (server[1].external) throw new OpsError(`${server[0]} is an external server (${server[1].external.host}): connect to it with your own tools`);
  const ref = { component: server[0], pod: `${server[0]}-0` };
  // The password file exists only when the spec sets `password: true`.
  const script = `[ -r /run/secrets/redis/password ] && export REDISCLI_AUTH="$(cat /run/secrets/redis/password)"; exec redis-cli ${extra.map(quote).join(' ')}`;
  return t.kubectl.attached(execArgs(t, ref, 'redis', script, extra.length === 0 && Boolean(process.stdin.isTTY)), 'inherit').status;
}

/** pg_dump's custom format of one database into `file`, written whole or not at all. */
export function backup(t: Target, name: string, file: string): { bytes: number } {
  const ref = findDatabase(t, name, { requireOne: true });
  const tmp = `${file}.partial-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w', 0o600);
  } catch (e) {
    // Said of the file the user named, not of the temporary one next to it.
    const code = (e as NodeJS.ErrnoException).code;
    throw new OpsError(`--to ${file}: ${code === 'ENOENT' ? `the folder ${dirname(file)} does not exist` : code === 'EACCES' ? `cannot write in ${dirname(file)}` : (e as Error).message}`, 2);
  }
  let r;
  try {
    r = t.kubectl.attached(execArgs(t, ref, 'postgres', `${SUPERUSER} exec pg_dump -h ${SOCKET} -p ${POSTGRES_PORT} -U postgres --format=custom -d ${quote(ref.database)}`, false), ['ignore', fd, 'pipe']);
  } catch (e) {
    rmSync(tmp, { force: true }); // kubectl missing: nothing half-written stays behind
    throw e;
  } finally {
    closeSync(fd);
  }
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new OpsError(`backup of ${ref.component}/${ref.database} failed: ${r.stderr.trim()}`);
  }
  renameSync(tmp, file);
  return { bytes: statSync(file).size };
}

/**
 * Replaces the database's contents by the dump in `file`, in one transaction: a failure leaves the
 * database as it was.
 */
export function restore(t: Target, name: string, file: string): void {
  const ref = findDatabase(t, name, { requireOne: true });
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new OpsError(`--from ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, 2);
  }
  try {
    const script = `${SUPERUSER} exec pg_restore -h ${SOCKET} -p ${POSTGRES_PORT} -U postgres --clean --if-exists --single-transaction --exit-on-error -d ${quote(ref.database)}`;
    const r = t.kubectl.attached(execArgs(t, ref, 'postgres', script, false), [fd, 'pipe', 'pipe']);
    if (r.status !== 0) throw new OpsError(`restore of ${ref.component}/${ref.database} from ${file} failed, nothing was changed: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  } finally {
    closeSync(fd);
  }
}
