/**
 * Helpers for the cluster test: a kubectl runner, the local control plane (scripts/cluster/up.sh,
 * down.sh) or an existing cluster (STACKPORT_KUBECONFIG), and bounded waits that fail with the
 * cluster's own account of what is stuck (events, pods, workloads).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ApiProxy, restGet } from './kube-rest';
import { notEstablished } from '../../ops/addons';

export const ROOT = resolve(__dirname, '../..');
export const SCRIPTS = join(ROOT, 'scripts/cluster');

/** An existing cluster to use instead of starting the local control plane. */
export const EXTERNAL_KUBECONFIG = process.env.STACKPORT_KUBECONFIG || undefined;
/** Upper bound of every wait, seconds. */
export const WAIT_SECONDS = Number(process.env.STACKPORT_WAIT_SECONDS ?? 180);

const execFileP = promisify(execFile);

/** The pinned binaries' directory (does not build). */
export function binDir(): string {
  return execFileSync('bash', [join(SCRIPTS, 'bin-path.sh')], { encoding: 'utf8' }).trim();
}

/** kubectl: STACKPORT_KUBECTL, else the pinned build when it exists, else kubectl from PATH. */
export function kubectlBinary(): string {
  if (process.env.STACKPORT_KUBECTL) return process.env.STACKPORT_KUBECTL;
  const built = join(binDir(), 'kubectl');
  return existsSync(built) ? built : 'kubectl';
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    // Without input, stdin is /dev/null: a pipe nobody reads fails with EPIPE when the command exits first.
    const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n[killed after ${opts.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (child.stdin) {
      // A command may exit before reading all of its input; its exit code and stderr say why.
      child.stdin.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code !== 'EPIPE') stderr += `\n[stdin: ${e.message}]`;
      });
      child.stdin.end(opts.input);
    }
  });
}

/** A cluster to talk to: its kubeconfig and how to stop it. */
export class Kube {
  private readonly proxy: ApiProxy;

  constructor(
    readonly kubeconfig: string,
    readonly kubectlBin: string,
    readonly cacheDir: string,
  ) {
    this.proxy = new ApiProxy((args) => ({ cmd: this.kubectlBin, args: ['--kubeconfig', this.kubeconfig, '--cache-dir', this.cacheDir, ...args] }), cacheDir);
  }

  /** kubectl with this cluster's kubeconfig and a private discovery cache. */
  kubectl(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<Result> {
    return run(this.kubectlBin, ['--kubeconfig', this.kubeconfig, '--cache-dir', this.cacheDir, ...args], opts);
  }

  /** kubectl that must succeed; returns stdout. */
  async ok(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await this.kubectl(args, opts);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** `kubectl <args> -o json`; plain gets are answered in-process (kube-rest.ts). */
  async json<T = any>(args: string[]): Promise<T> {
    const get = restGet(args);
    if (get) return (await this.proxy.run(get)) as T;
    return JSON.parse(await this.ok([...args, '-o', 'json'])) as T;
  }

  async items(args: string[]): Promise<any[]> {
    return (await this.json<{ items: any[] }>(args)).items;
  }

  /** A container's log (`kubectl logs POD -c CONTAINER`), read in-process. */
  async logs(namespace: string, pod: string, container: string): Promise<string> {
    const [status, body] = await this.proxy.getText(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?container=${encodeURIComponent(container)}`);
    if (status !== 200) throw new Error(`kubectl logs ${pod} -c ${container} -n ${namespace}: HTTP ${status} ${body.slice(0, 300)}`);
    return body;
  }

  /** Stops the API proxy (it also dies with this process). */
  close(): void {
    this.proxy.stop();
  }
}

export interface LocalCluster {
  kube: Kube;
  info: any;
  startLog: string;
  stop(keep?: boolean): Promise<void>;
  logTails(lines?: number): string;
}

/** Starts scripts/cluster/up.sh for one environment, owned by this process (its watchdog tears it down if we die). */
export async function startLocalCluster(env: string): Promise<LocalCluster> {
  const state = mkdtempSync(join(tmpdir(), `stackport-cluster-${env}-`));
  const stop = async (keep = false) => {
    const args = keep ? ['--keep-state', state] : [state];
    await execFileP('bash', [join(SCRIPTS, 'down.sh'), ...args], { cwd: ROOT });
  };
  const r = await run('bash', [join(SCRIPTS, 'up.sh'), '--env', env, '--state-dir', state, '--owner-pid', String(process.pid)], {
    timeoutMs: 240_000,
  });
  if (r.code !== 0) {
    await stop().catch(() => undefined);
    throw new Error(`scripts/cluster/up.sh --env ${env} failed (exit ${r.code}):\n${r.stderr}\n${r.stdout}`);
  }
  const info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8'));
  const kube = new Kube(info.kubeconfig, join(info.bin, 'kubectl'), join(state, 'kube-cache'));
  const logTails = (lines = 30) => {
    const dir = join(state, 'logs');
    if (!existsSync(dir)) return '';
    return readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => {
        const text = readFileSync(join(dir, f), 'utf8').trimEnd().split('\n');
        return `----- ${f} (last ${lines} lines)\n${text.slice(-lines).join('\n')}`;
      })
      .join('\n');
  };
  return { kube, info, startLog: r.stderr, stop, logTails };
}

/** Installs the CRDs among `docs` that the cluster lacks, and waits until every one is Established. */
export async function installCrds(kube: Kube, docs: any[]): Promise<{ installed: number; warnings: string }> {
  const have = new Set((await kube.items(['get', 'customresourcedefinitions.apiextensions.k8s.io'])).map((c) => c.metadata.name));
  const crds = docs.filter((d) => d?.kind === 'CustomResourceDefinition');
  const missing = crds.filter((c) => !have.has(c.metadata.name));
  let warnings = '';
  if (missing.length > 0) {
    const res = await kube.kubectl(['apply', '--server-side', '--field-manager=stackport-crds', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: missing }), timeoutMs: 120_000 });
    if (res.code !== 0) throw new Error(`installing CRDs failed:\n${res.stderr}`);
    warnings = res.stderr.trim();
  }
  await waitCrdsEstablished(kube, crds.map((c) => c.metadata.name));
  await kube.ok(['api-resources', '-o', 'name']); // refresh kubectl's discovery cache
  return { installed: missing.length, warnings };
}

/**
 * Waits until every named CRD is Established. Not `kubectl wait --for=condition=Established`: on a
 * CRD the API server has not given a status yet (a busy one, right after the apply) it fails at
 * once ("<nil> is of the type <nil>") instead of waiting.
 */
export async function waitCrdsEstablished(kube: Kube, names: string[], seconds = 60): Promise<number> {
  return waitUntil(
    `CRDs Established: ${names.join(', ')}`,
    async () => {
      // Nothing printed (none exists yet) is not JSON.
      const got = await kube.json(['get', 'customresourcedefinitions.apiextensions.k8s.io', ...names, '--ignore-not-found']).catch(() => undefined);
      return notEstablished(got, names);
    },
    async () => (await kube.kubectl(['get', 'crd', ...names, '-o', 'wide'])).stdout,
    seconds,
  );
}

/** An existing cluster (STACKPORT_KUBECONFIG). */
export function externalKube(kubeconfig: string): { kube: Kube; cleanup(): void } {
  const cacheDir = mkdtempSync(join(tmpdir(), 'stackport-kube-cache-'));
  return { kube: new Kube(kubeconfig, kubectlBinary(), cacheDir), cleanup: () => rmSync(cacheDir, { recursive: true, force: true }) };
}

/** What the cluster says about a namespace: for failure messages. */
export async function diagnostics(kube: Kube, namespace: string, extra = ''): Promise<string> {
  const section = async (title: string, args: string[], tailLines = 60) => {
    const r = await kube.kubectl(args, { timeoutMs: 30_000 });
    const out = (r.stdout + r.stderr).trimEnd().split('\n');
    return `----- ${title}\n${out.slice(-tailLines).join('\n')}`;
  };
  const parts = await Promise.all([
    section(`kubectl -n ${namespace} get deploy,sts,rs,job,cronjob,pvc,hpa`, ['-n', namespace, 'get', 'deploy,sts,rs,job,cronjob,pvc,hpa', '-o', 'wide']),
    section(`kubectl -n ${namespace} get pods -o wide`, ['-n', namespace, 'get', 'pods', '-o', 'wide']),
    section('kubectl get nodes', ['get', 'nodes', '-o', 'wide']),
    section('kubectl get events -A --sort-by=.lastTimestamp (last 60)', ['get', 'events', '-A', '--sort-by=.lastTimestamp']),
  ]);
  const notReady = await kube.kubectl(['-n', namespace, 'get', 'pods', '-o', 'json'], { timeoutMs: 30_000 });
  let podStatus = '';
  if (notReady.code === 0) {
    const pods = (JSON.parse(notReady.stdout).items as any[]).filter(
      (p) => !(p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True') && p.status?.phase !== 'Succeeded',
    );
    podStatus = pods
      .slice(0, 5)
      .map((p) => `pod ${p.metadata.name}: phase=${p.status?.phase} conditions=${JSON.stringify(p.status?.conditions ?? [])}`)
      .join('\n');
  }
  return [...parts, podStatus && `----- pods not ready\n${podStatus}`, extra].filter(Boolean).join('\n');
}

/**
 * Polls `check` (which returns what is still missing; empty when done) once a second until it is
 * done, or throws after `seconds` with the last missing list and diagnostics. `check` may throw a
 * FatalWait to stop early (e.g. a Job failed).
 */
export class FatalWait extends Error {}

export async function waitUntil(
  what: string,
  check: () => Promise<string[]>,
  diag: () => Promise<string>,
  seconds = WAIT_SECONDS,
): Promise<number> {
  const start = Date.now();
  let missing: string[] = ['(not checked yet)'];
  let lastError = '';
  for (;;) {
    try {
      missing = await check();
      lastError = '';
      if (missing.length === 0) return (Date.now() - start) / 1000;
    } catch (e) {
      if (e instanceof FatalWait) {
        throw new Error(`${what}: ${e.message}\n${await diag()}`);
      }
      lastError = (e as Error).message;
    }
    if (Date.now() - start > seconds * 1000) {
      throw new Error(
        `${what}: not reached within ${seconds} s. Still missing:\n  - ${missing.join('\n  - ')}` +
          (lastError ? `\nlast error: ${lastError}` : '') +
          `\n${await diag()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

export function condition(obj: any, type: string): string | undefined {
  return (obj.status?.conditions ?? []).find((c: any) => c.type === type)?.status;
}
