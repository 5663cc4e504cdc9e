/**
 * Init containers that hold a pod back until what it needs is there: the jobs it waits for
 * (`after`) have done their work, and, for run-once pods, the servers it uses accept connections.
 * Every wait has a deadline, says what it waits for and why, and shows the check's last output,
 * so a pod stuck in Init explains itself in `kubectl logs`.
 */
import type { JobComponent, PostgresComponent, RedisComponent, WebComponent, WorkerComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { endpointOf, isExternal, usesOf } from '../model/relations';
import type { ContainerProps } from './pod';
import { POSTGRES_IMAGE } from './postgres';
import { REDIS_IMAGE } from './redis';
import { appEnv, shellQuote } from './workload';

type AppComponent = Resolved<WebComponent> | Resolved<WorkerComponent> | Resolved<JobComponent>;

/** Seconds between two checks. */
export const WAIT_INTERVAL = 5;
/** How long a run-once pod waits for a server to accept connections before it fails. */
export const SERVER_WAIT_SECONDS = 300;

/**
 * `alembic current` equals `alembic heads`. Revisions are the output lines shaped like a revision
 * ("0001", "ae1027a6acf (head)"), because an application's alembic.ini may log in any format, to
 * either stream; a failure shows alembic's own lines (a wrong URL or login), without the INFO ones.
 * Each alembic run is a Python start-up (about half a CPU-second), and the check runs every few
 * seconds in every waiting pod: `heads` is asked only once the database has a revision (until the
 * migration has run, `current` alone decides), and a failure is shown from the same run.
 */
export const ALEMBIC_AT_HEAD = [
  'sh',
  '-c',
  [
    `revs() { printf '%s\\n' "$1" | grep -E '^[A-Za-z0-9_.-]+( \\([a-z ]+\\))*$' | cut -d' ' -f1 | sort; }`,
    `errors() { printf '%s\\n' "$1" | grep -Ev '(^|[^A-Za-z])INFO([^A-Za-z]|$)' | tail -n 5; }`,
    `cur=$(alembic current 2>&1) || { errors "$cur"; exit 1; }`,
    `c=$(revs "$cur")`,
    `[ -n "$c" ] || { echo "database at revision none: the migration has not run yet"; exit 1; }`,
    `heads=$(alembic heads 2>&1) || { errors "$heads"; exit 1; }`,
    `h=$(revs "$heads")`,
    `[ -n "$h" ] && [ "$c" = "$h" ] || { echo "database at revision" $c", migrations head is" $h; exit 1; }`,
  ].join('\n'),
];

/**
 * A POSIX sh loop around `check` (a shell command line): retried every WAIT_INTERVAL seconds with
 * its output shown, until it succeeds or `deadline` seconds of waiting have passed. Needs only the
 * shell builtins, so it runs in any image with `sh`.
 */
export function waitScript(what: string, check: string, deadline: number, hint: string): string {
  return [
    'i=0',
    `until out=$(${check} 2>&1); do`,
    '  i=$((i+1))',
    `  if [ $((i*${WAIT_INTERVAL})) -ge ${deadline} ]; then`,
    `    echo "gave up after ${deadline}s waiting for ${what}. ${hint} Last check said: $out" >&2`,
    '    exit 1',
    '  fi',
    `  echo "waiting for ${what} ($((i*${WAIT_INTERVAL}))s of ${deadline}s): $out"`,
    `  sleep ${WAIT_INTERVAL}`,
    'done',
    `echo "${what}: ready"`,
  ].join('\n');
}

/**
 * One init container per job in `after`: it runs the job's completion check, with the job's image
 * and connection settings. This reads the state the job produces (e.g. the schema revision) instead
 * of the Job object, so pods need no API access and a re-run is harmless. The deadline is the job's
 * own plus its server wait; past it the init container fails and Kubernetes retries it with backoff,
 * which `kubectl get pods` shows as Init:CrashLoopBackOff instead of an endless silent wait.
 */
export function waitForJobs(stack: ResolvedStack, c: AppComponent): ContainerProps[] {
  return (c.after ?? []).map((jobName) => {
    const job = stack.components[jobName] as Resolved<JobComponent>;
    const check = (job.completionCheck ?? ALEMBIC_AT_HEAD).map(shellQuote).join(' ');
    const deadline = (job.activeDeadlineSeconds ?? 600) + SERVER_WAIT_SECONDS;
    const hint = `Job ${jobName} has not done its work: see kubectl logs -l app.kubernetes.io/name=${jobName} (kubectl get jobs -l stackport.dev/release-job=${jobName} shows whether it ran).`;
    return {
      name: `wait-for-${jobName}`,
      image: job.image,
      command: ['sh', '-c', waitScript(`${jobName} to complete`, check, deadline, hint)],
      env: appEnv(stack, job),
      resources: stack.preset.resources.wait,
    };
  });
}

/**
 * For run-once pods (Jobs, CronJobs): one init container per PostgreSQL or Redis server used,
 * with that server's own image and client, waiting until it accepts connections. A Job's command
 * usually connects once; in a new pod's first second the NetworkPolicy implementation may not
 * have admitted its traffic yet, and on a first deploy the server may still be starting. Servers
 * of other kinds have no client the stack controls; the Job's OnFailure restarts cover those.
 */
export function waitForServers(stack: ResolvedStack, c: { name: string } & Parameters<typeof usesOf>[0]): ContainerProps[] {
  return [...new Set(usesOf(c).map((r) => r.to))].flatMap((to) => waitForServer(stack, c.name, to) ?? []);
}

/** The wait for one server, or undefined when the stack has no client for its kind. */
export function waitForServer(stack: ResolvedStack, from: string, to: string): ContainerProps | undefined {
  const target = stack.components[to];
  const { host, port } = endpointOf(stack.spec, to);
  const hint = isExternal(target)
    ? `${to} is an external server: check that ${host}:${port} answers from the cluster (DNS, firewall) and that a NetworkPolicy admits ${from} to it.`
    : `Check that ${to} is running (kubectl get pods -l app.kubernetes.io/name=${to}) and that a NetworkPolicy admits ${from} to it.`;
  let image: string;
  let check: string;
  if (target.kind === 'postgres') {
    image = (target as PostgresComponent).image ?? POSTGRES_IMAGE;
    // -U/-d: without them libpq looks up the OS user, which an arbitrary uid does not have.
    check = `pg_isready -h ${host} -p ${port} -U postgres -d postgres -t 3`;
  } else if (target.kind === 'redis') {
    image = (target as RedisComponent).image ?? REDIS_IMAGE;
    // Any reply, PONG or an authentication error, proves the server answers. A client that dials
    // rediss:// (an external server over TLS) is checked over TLS; whose certificate is not the point here.
    const tls = (stack.components[from] ? usesOf(stack.components[from]) : []).some((r) => r.to === to && r.scheme === 'rediss') ? ' --tls --insecure' : '';
    check = `r=$(redis-cli -h ${host} -p ${port}${tls} --no-auth-warning ping 2>&1); echo "$r"; echo "$r" | grep -qE 'PONG|NOAUTH|LOADING'`;
  } else return undefined;
  return {
    name: `wait-for-${to}`,
    image,
    command: ['sh', '-c', waitScript(`${to} at ${host}:${port}`, check, SERVER_WAIT_SECONDS, hint)],
    resources: stack.preset.resources.wait,
  };
}
