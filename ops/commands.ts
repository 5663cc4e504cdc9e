/**
 * The day-to-day commands: status, logs, run, psql, redis-cli, open, backup, restore, down. Each
 * parses its own options, opens the target (ops/target.ts: spec, environment, the one context, printed
 * first) and says what it did.
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { PGADMIN_PORT } from '../charts/pgadmin';
import { secretNames } from '../model/relations';
import { StackClient } from './client';
import { clusterName } from './cluster';
import { backup, psql, redisCli, restore } from './databases';
import { OpsError, run } from './exec';
import { stackSelector } from './prune';
import { statusRows, statusTable } from './status';
import { environmentOf, openTarget, TARGET_OPTIONS, type Target } from './target';

const parse = <O extends Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>>(args: string[], options: O) =>
  parseArgs({ args, allowPositionals: true, options: { ...TARGET_OPTIONS, ...options } });

/** ENV as the first positional (`status k3d`) or --env. */
function envFrom(values: { env?: string }, positionals: string[]): ReturnType<typeof environmentOf> {
  return environmentOf(values.env ?? positionals[0]);
}

function components(t: Target, kinds?: string[]): string[] {
  return Object.entries(t.stack.components)
    .filter(([, c]) => !kinds || kinds.includes(c.kind))
    .map(([n]) => n);
}

function requireComponent(t: Target, name: string | undefined, what: string, kinds?: string[]): string {
  const names = components(t, kinds);
  if (!name) throw new OpsError(`name the ${what}: one of ${names.join(', ') || '(none in this stack)'}`, 2);
  if (!names.includes(name)) throw new OpsError(`no ${what} "${name}" in ${t.specFile ?? 'the stack'} (${t.environment}): expected one of ${names.join(', ') || '(none)'}`, 2);
  return name;
}

export async function statusCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {});
  const t = openTarget(values, envFrom(values, positionals));
  const snapshot = await new StackClient(t.context, t.kubeconfig).snapshot(t.stack.namespace, stackSelector(t.stack));
  const { rows, states } = statusRows(t.stack, snapshot, Date.now());
  if (rows.length === 0) {
    console.log(`nothing of ${t.stack.name} runs in namespace ${t.stack.namespace} (${t.environment}): stackport up ${t.environment} deploys it`);
    return 0;
  }
  console.log(statusTable(rows));
  const problems = states.filter((s) => s.hopeless);
  for (const p of problems) console.log(`\n${p.workload.component}: ${p.hopeless!.reason}\n  fix: ${p.hopeless!.fix}`);
  return 0;
}

export function logsCommand(args: string[]): number {
  const { values, positionals } = parse(args, { follow: { type: 'boolean', short: 'f' }, tail: { type: 'string' }, previous: { type: 'boolean', short: 'p' } });
  const t = openTarget(values, environmentOf(values.env));
  const name = requireComponent(t, positionals[0], 'component');
  const tail = values.tail ?? '100';
  if (!/^\d+$/.test(tail)) throw new OpsError(`--tail ${tail}: expected a number of lines`, 2);
  const selector = `app.kubernetes.io/name=${name},app.kubernetes.io/part-of=${t.stack.name}`;
  return t.kubectl.attached(
    ['-n', t.stack.namespace, 'logs', '-l', selector, '--all-containers', '--prefix', '--tail', tail, '--max-log-requests', '20', ...(values.follow ? ['-f'] : []), ...(values.previous ? ['--previous'] : [])],
    'inherit',
  ).status;
}

/**
 * `stackport run WORKER`: one run of a scheduled worker now, as a Job made from its CronJob's
 * template with a single attempt (a retry would hide the exit code), its log followed; the exit code
 * of the worker is the command's.
 */
export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { timeout: { type: 'string' } });
  const t = openTarget(values, environmentOf(values.env));
  const name = requireComponent(t, positionals[0], 'worker', ['worker']);
  // Checked before the Job exists: a timeout that is not a number would never expire.
  const timeout = values.timeout ?? '1800';
  if (!/^\d+$/.test(timeout)) throw new OpsError(`--timeout ${timeout}: expected a number of seconds`, 2);
  const ns = t.stack.namespace;
  const cronJob = t.kubectl.json(['-n', ns, 'get', 'cronjob', name]);
  if (!cronJob) {
    const continuous = t.kubectl.json(['-n', ns, 'get', 'deployment', name]);
    throw new OpsError(continuous ? `${name} runs continuously (a Deployment); run starts scheduled workers (with a schedule)` : `${name} has no CronJob in namespace ${ns}: run stackport up ${t.environment} first`);
  }
  const stamp = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const jobName = `${name.slice(0, 63 - 19)}-run-${stamp}`;
  const template = cronJob.spec.jobTemplate;
  const job = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: jobName, namespace: ns, labels: template.metadata?.labels ?? cronJob.metadata.labels, annotations: { ...(template.metadata?.annotations ?? {}), 'cronjob.kubernetes.io/instantiate': 'manual' } },
    // One attempt, kept: with the CronJob's OnFailure the kubelet would restart a failing container in
    // place, and the Job controller would delete the pod on its first failure (backoffLimit 0), so the
    // exit code could be gone before it is read. A pod that Never restarts keeps its terminated state.
    spec: { ...template.spec, backoffLimit: 0, template: { ...template.spec.template, spec: { ...template.spec.template.spec, restartPolicy: 'Never' } } },
  };
  t.kubectl.ok(['create', '-f', '-'], { input: JSON.stringify(job) });
  process.stderr.write(`job ${jobName} started from cronjob ${name}\n`);
  const timeoutMs = Number(timeout) * 1000;
  const mainContainer: string = template.spec.template.spec.containers[0].name;
  const t0 = Date.now();
  const podOf = () => t.kubectl.items(['-n', ns, 'get', 'pods', '-l', `batch.kubernetes.io/job-name=${jobName}`])[0];
  // Follow the log once the main container has started; init containers (the waits) come first.
  for (;;) {
    const pod = podOf();
    const cs = pod?.status?.containerStatuses?.find((c: any) => c.name === mainContainer);
    if (cs?.state?.running || cs?.state?.terminated || cs?.lastState?.terminated) break;
    const waiting = cs?.state?.waiting?.reason;
    if (waiting && /ErrImagePull|ImagePullBackOff|CreateContainerConfigError|InvalidImageName/.test(waiting)) throw new OpsError(`job ${jobName}: ${waiting}: ${cs.state.waiting.message ?? ''}`);
    if (Date.now() - t0 > timeoutMs) throw new OpsError(`job ${jobName} did not start within ${timeoutMs / 1000}s`);
    await sleep(1000);
  }
  t.kubectl.attached(['-n', ns, 'logs', '-f', `job/${jobName}`, '-c', mainContainer], ['ignore', 'inherit', 'inherit']);
  for (;;) {
    const cs = podOf()?.status?.containerStatuses?.find((c: any) => c.name === mainContainer);
    // lastState: a Job template whose own restartPolicy came back (the pod restarted the container).
    const code = cs?.state?.terminated?.exitCode ?? cs?.lastState?.terminated?.exitCode;
    if (code !== undefined) {
      // The Job's own verdict follows its pod's within moments; wait for it so `status` agrees.
      for (let i = 0; i < 30 && !(t.kubectl.json(['-n', ns, 'get', 'job', jobName])?.status?.conditions ?? []).some((c: any) => /Complete|Failed/.test(c.type) && c.status === 'True'); i++) await sleep(1000);
      process.stderr.write(`job ${jobName}: ${name} exited with ${code}\n`);
      return code;
    }
    if (Date.now() - t0 > timeoutMs) throw new OpsError(`job ${jobName} did not finish within ${timeoutMs / 1000}s (it keeps running; stackport logs ${name} -f follows it)`);
    await sleep(1000);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function psqlCommand(args: string[]): number {
  const { values, positionals } = parse(args, { 'read-only': { type: 'boolean' }, command: { type: 'string', short: 'c' } });
  const t = openTarget(values, environmentOf(values.env));
  const first = Object.entries(t.stack.components).find(([, c]) => c.kind === 'postgres')?.[0];
  return psql(t, positionals[0] ?? first ?? '', { readOnly: values['read-only'], command: values.command, extra: positionals.slice(1) });
}

export function redisCliCommand(args: string[]): number {
  const { values, positionals } = parse(args, {});
  const t = openTarget(values, environmentOf(values.env));
  const redis = components(t, ['redis']);
  const named = positionals[0] && redis.includes(positionals[0]) ? positionals[0] : undefined;
  return redisCli(t, named, named ? positionals.slice(1) : positionals);
}

export function backupCommand(args: string[]): number {
  const { values, positionals } = parse(args, { to: { type: 'string' } });
  if (!values.to) throw new OpsError('backup: --to FILE is required', 2);
  const t = openTarget(values, environmentOf(values.env));
  if (!positionals[0]) throw new OpsError('backup: name the database (backup DB --to FILE)', 2);
  const { bytes } = backup(t, positionals[0], values.to);
  console.log(`wrote ${values.to} (${bytes} bytes, pg_dump custom format)`);
  return 0;
}

export function restoreCommand(args: string[]): number {
  const { values, positionals } = parse(args, { from: { type: 'string' } });
  if (!values.from) throw new OpsError('restore: --from FILE is required', 2);
  const t = openTarget(values, environmentOf(values.env));
  if (!positionals[0]) throw new OpsError('restore: name the database (restore DB --from FILE)', 2);
  restore(t, positionals[0], values.from);
  console.log(`restored ${positionals[0]} from ${values.from}`);
  return 0;
}

/**
 * `stackport open COMPONENT`: a port-forward to its Service on 127.0.0.1 (through the kubelet, so the
 * NetworkPolicies that keep e.g. pgAdmin closed to other pods stay as they are), printing the URL and,
 * for pgAdmin, the login. Runs until interrupted.
 */
export async function openCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { port: { type: 'string' } });
  const t = openTarget(values, environmentOf(values.env));
  const name = requireComponent(t, positionals[0], 'component', ['web', 'pgadmin']);
  const c = t.stack.components[name];
  const port = c.kind === 'pgadmin' ? PGADMIN_PORT : (c as { port: number }).port;
  const local = values.port ?? '';
  if (local && !/^\d+$/.test(local)) throw new OpsError(`--port ${local}: expected a port number`, 2);
  const child = spawn(t.kubectl.binary, [...t.kubectl.base(), '-n', t.stack.namespace, 'port-forward', '--address', '127.0.0.1', `svc/${name}`, `${local}:${port}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let shown = false;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(chunk);
    if (!m || shown) return;
    shown = true;
    console.log(`${name}: http://127.0.0.1:${m[1]}/  (Ctrl-C stops the forward)`);
    if (c.kind === 'pgadmin') {
      const secret = t.kubectl.json(['-n', t.stack.namespace, 'get', 'secret', secretNames.pgadminLogin(name)]);
      const password = secret?.data?.password ? Buffer.from(secret.data.password, 'base64').toString('utf8') : '(secret not found)';
      console.log(`login: ${(c as { email?: string }).email ?? 'admin@example.com'} / ${password}`);
    }
  });
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise((resolve, reject) => {
    child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new OpsError('kubectl not found on PATH (stackport doctor lists every tool it uses)') : e));
    child.on('exit', (code) => resolve(shown ? 0 : (code ?? 1)));
  });
}

/**
 * `stackport down`: removes the stack's workloads and everything else stackport applied, and keeps
 * the data (the claims, the Secrets whose passwords open it, the namespace that holds them) unless
 * --delete-data; --delete-cluster deletes the environment's own kind or k3d cluster.
 */
export function downCommand(args: string[]): number {
  const { values, positionals } = parse(args, { 'delete-data': { type: 'boolean' }, 'delete-cluster': { type: 'boolean' } });
  const environment = envFrom(values, positionals);
  const t = openTarget(values, environment);
  if (values['delete-cluster']) {
    if (values.context) throw new OpsError('--delete-cluster deletes only the environment\'s own kind or k3d cluster; it is refused with --context', 2);
    const name = clusterName(t.spec);
    if (environment === 'kind') run('kind', ['delete', 'cluster', '--name', name], { inherit: true });
    else run('k3d', ['cluster', 'delete', name], { inherit: true });
    console.log(`deleted the ${environment} cluster ${name} and all its data`);
    return 0;
  }
  const ns = t.stack.namespace;
  if (values['delete-data']) {
    t.kubectl.ok(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true']);
    console.log(`deleted namespace ${ns} with its claims and Secrets`);
    return 0;
  }
  const kinds = 'deployments.apps,statefulsets.apps,cronjobs.batch,jobs.batch,services,configmaps,networkpolicies.networking.k8s.io,poddisruptionbudgets.policy,horizontalpodautoscalers.autoscaling,ingresses.networking.k8s.io';
  const out = t.kubectl.ok(['-n', ns, 'delete', kinds, '-l', `app.kubernetes.io/part-of=${t.stack.name}`, '--ignore-not-found', '--wait=true']);
  // ExternalSecrets and SealedSecrets stay: each owns its Secret, so deleting it would delete the passwords kept here.
  const crdKinds = ['httproutes.gateway.networking.k8s.io', 'gateways.gateway.networking.k8s.io', 'certificates.cert-manager.io', 'servicemonitors.monitoring.coreos.com', 'podmonitors.monitoring.coreos.com', 'prometheusrules.monitoring.coreos.com', 'middlewares.traefik.io', 'backendtrafficpolicies.gateway.envoyproxy.io'];
  const served = t.kubectl.ok(['api-resources', '-o', 'name']).split('\n');
  const present = crdKinds.filter((k) => served.includes(k));
  const more = present.length > 0 ? t.kubectl.ok(['-n', ns, 'delete', present.join(','), '-l', `app.kubernetes.io/part-of=${t.stack.name}`, '--ignore-not-found']) : '';
  const removed = `${out}\n${more}`.split('\n').filter((l) => l.includes('deleted')).length;
  const claims = t.kubectl.items(['-n', ns, 'get', 'pvc']).map((c) => c.metadata.name);
  console.log(`removed ${removed} objects of ${t.stack.name}; kept namespace ${ns}, ${claims.length} claim(s)${claims.length ? ` (${claims.join(', ')})` : ''} and the Secrets: stackport up ${environment} brings the stack back on the same data; --delete-data removes it`);
  return 0;
}
