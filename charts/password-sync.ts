/**
 * Password rotation for the stack's own servers. PostgreSQL keeps the passwords it saw at first
 * start and Redis the one it read at start, so a value rotated in its Secret (by hand, by External
 * Secrets, by Sealed Secrets) would lock every client out. A sidecar beside each server (an init
 * container with restartPolicy Always, so no probes are owed) watches the mounted Secret files,
 * which the kubelet refreshes, and puts the current values in force:
 *
 * - PostgreSQL: re-runs the logins script (charts/postgres.ts initScript, idempotent; it also sets
 *   the superuser's password) whenever the script or a password file changes, once the server accepts TCP (so never during initdb's own
 *   run). That also creates logins and databases added to the spec after the first start.
 * - Redis: `CONFIG SET requirepass` with the old password from the included auth file, which it
 *   then rewrites, so a restart of the server keeps the same password.
 *
 * ops/rotation.ts waits, on each deploy, until the new values are in force, then the clients
 * restart with them (a hash of their Secrets in their pod template).
 */
import type { ResolvedStack } from '../model/presets';
import { POSTGRES_PORT, REDIS_PORT } from '../model/relations';
import type { ContainerProps } from './pod';

export const PASSWORD_SYNC = 'password-sync';
/** Seconds between two looks at the mounted Secret files. */
const PERIOD = 5;

/** The pod's own address (kubelet's /etc/hosts names it): a login over it is checked like a client's, not trusted like loopback. */
export const POD_IP_EXPRESSION = `$(awk -v h="$(cat /etc/hostname)" '{for (i = 2; i <= NF; i++) if ($i == h) {print $1; exit}}' /etc/hosts)`;

/** `passwordFiles`: the mounted password files (globs) whose change re-runs the script. */
export function postgresPasswordSync(stack: ResolvedStack, image: string, script: string, passwordFiles: string[], mounts: ContainerProps['volumeMounts']): ContainerProps {
  // The server is asked whether it takes TCP only when there is something to apply: a connection
  // every few seconds for the pod's whole life would be a backend fork each time, and a line each
  // time in a log that records connections.
  const loop = [
    'last=""',
    'while :; do',
    `  now=$(cat "${script}" ${passwordFiles.join(' ')} | cksum)`,
    `  if [ "$now" != "$last" ] && pg_isready -q -h 127.0.0.1 -p ${POSTGRES_PORT} -U postgres -d postgres; then`,
    `    if bash "${script}" >/tmp/${PASSWORD_SYNC}.log 2>&1; then last=$now; echo "${PASSWORD_SYNC}: logins, passwords and databases in force"`,
    `    else echo "${PASSWORD_SYNC}: the logins script failed; retrying in ${PERIOD}s:"; cat /tmp/${PASSWORD_SYNC}.log; fi`,
    '  fi',
    `  sleep ${PERIOD}`,
    'done',
  ].join('\n');
  return {
    name: PASSWORD_SYNC,
    image,
    command: ['sh', '-c', loop],
    // The local socket is trusted (initdb's default, kept by the image): no password is needed to apply them.
    env: [
      { name: 'POSTGRES_USER', value: 'postgres' },
      { name: 'PGHOST', value: '/var/run/postgresql' },
    ],
    resources: stack.preset.resources.sidecar,
    volumeMounts: mounts,
    restartPolicy: 'Always',
  };
}

export function redisPasswordSync(stack: ResolvedStack, image: string, passwordFile: string, authConf: string, mounts: ContainerProps['volumeMounts']): ContainerProps {
  const loop = [
    'while :; do',
    // The server writes the auth file at start; until then there is nothing to rotate.
    `  if [ -s "${authConf}" ] && [ -r "${passwordFile}" ]; then`,
    `    new=$(cat "${passwordFile}")`,
    `    old=$(sed -n 's/^requirepass "\\(.*\\)"$/\\1/p' "${authConf}")`,
    '    if [ -n "$old" ] && [ "$new" != "$old" ]; then',
    // -x: the new password comes from stdin, never the command line.
    `      if printf %s "$new" | REDISCLI_AUTH="$old" redis-cli --no-auth-warning -h 127.0.0.1 -p ${REDIS_PORT} -x CONFIG SET requirepass | grep -q OK; then`,
    `        (umask 0077 && printf 'requirepass "%s"\\n' "$new" >"${authConf}.new") && mv -f "${authConf}.new" "${authConf}"`,
    `        echo "${PASSWORD_SYNC}: the Secret's password is in force"`,
    `      else echo "${PASSWORD_SYNC}: CONFIG SET requirepass failed; retrying in ${PERIOD}s"; fi`,
    '    fi',
    '  fi',
    `  sleep ${PERIOD}`,
    'done',
  ].join('\n');
  return { name: PASSWORD_SYNC, image, command: ['sh', '-c', loop], resources: stack.preset.resources.sidecar, volumeMounts: mounts, restartPolicy: 'Always' };
}

/** What passwordCheck prints before the numbers of the logins that did not log in. */
export const NOT_IN_FORCE = 'not in force:';

/**
 * The command (run in the sidecar) that succeeds once every login's password is in force, checking
 * them all in one run: for PostgreSQL the arguments are pairs of login and database, and stdin has
 * one password per pair, in order; Redis has one password and no arguments. On failure it prints
 * NOT_IN_FORCE and the numbers (from 0) of the logins that failed. Passwords never reach a command line.
 */
export function passwordCheck(kind: 'postgres' | 'redis'): string {
  const login =
    kind === 'postgres'
      ? `IFS= read -r PGPASSWORD; export PGPASSWORD; psql -w -h "${POD_IP_EXPRESSION}" -p ${POSTGRES_PORT} -U "$1" -d "$2" -tAc 'SELECT 1' >/dev/null 2>&1`
      : `IFS= read -r REDISCLI_AUTH; export REDISCLI_AUTH; redis-cli --no-auth-warning -h 127.0.0.1 -p ${REDIS_PORT} ping 2>/dev/null | grep -q PONG`;
  if (kind === 'redis') return `${login} || { echo "${NOT_IN_FORCE} 0"; exit 1; }`;
  return [`n=0; failed=''`, 'while [ $# -ge 2 ]; do', `  ${login} || failed="$failed $n"`, '  n=$((n+1)); shift 2', 'done', `[ -z "$failed" ] || { echo "${NOT_IN_FORCE}$failed"; exit 1; }`].join('\n');
}
