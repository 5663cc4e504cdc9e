/**
 * Running the tools the laptop commands drive (kubectl, docker, kind, k3d, helm). One place decides
 * how a tool is found, what a missing one says, and how a failure is reported, so every command
 * speaks the same way. Tests put recording stand-ins first on PATH.
 */
import { spawnSync } from 'node:child_process';

/** A failure the user can act on: printed as `error: <message>`, exit code `code`. */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly code = 1,
  ) {
    super(message);
  }
  override name = 'OpsError';
}

/** What each tool is for and where to get it; the message when it is missing says so. */
export const TOOLS: Record<string, { purpose: string; install: string }> = {
  kubectl: { purpose: 'talks to the cluster', install: 'https://kubernetes.io/docs/tasks/tools/ (1.30 or newer)' },
  docker: { purpose: 'builds images and runs kind and k3d nodes', install: 'https://docs.docker.com/engine/install/ (24 or newer)' },
  kind: { purpose: 'creates the kind cluster', install: 'https://kind.sigs.k8s.io/docs/user/quick-start/#installation (0.27 or newer)' },
  k3d: { purpose: 'creates the k3d cluster', install: 'https://k3d.io/#installation (5.7 or newer)' },
  helm: { purpose: 'installs cert-manager', install: 'https://helm.sh/docs/intro/install/ (3.14 or newer)' },
  tilt: { purpose: 'runs the edit-and-reload loop', install: 'https://docs.tilt.dev/install.html' },
};

export interface RunOptions {
  /** Written to the tool's standard input. */
  readonly input?: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
  /** Let the tool use the terminal (interactive shells, followed logs); nothing is captured. */
  readonly inherit?: boolean;
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The error for a tool that is not on PATH: what it is for and where to get it. */
export function missing(tool: string): OpsError {
  const t = TOOLS[tool];
  return new OpsError(`${tool} not found on PATH${t ? `: stackport needs it because it ${t.purpose}; install it from ${t.install}` : ''} (stackport doctor lists every tool it uses)`);
}

/** Runs `tool args`; never throws for a non-zero exit (see `runOk`), only when the tool is missing. */
export function run(tool: string, args: readonly string[], o: RunOptions = {}): RunResult {
  const r = spawnSync(tool, args, {
    encoding: 'utf8',
    input: o.inherit ? undefined : (o.input ?? ''),
    stdio: o.inherit ? 'inherit' : ['pipe', 'pipe', 'pipe'],
    env: o.env ? { ...process.env, ...o.env } : process.env,
    timeout: o.timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
  if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw missing(tool);
  if (r.error) throw new OpsError(`${tool} ${args.slice(0, 2).join(' ')}: ${r.error.message}`);
  return { status: r.status ?? 128, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** Runs `tool args` and returns its standard output; a non-zero exit is an OpsError with its stderr. */
export function runOk(tool: string, args: readonly string[], o: RunOptions = {}): string {
  const r = run(tool, args, o);
  if (r.status !== 0) throw new OpsError(`${tool} ${shown(args)} failed (exit ${r.status})${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
  return r.stdout;
}

/** The first words of a command line, for messages (never values passed on stdin). */
export function shown(args: readonly string[]): string {
  return args.filter((a) => !a.startsWith('--kubeconfig')).slice(0, 4).join(' ');
}

/** Blocks for `ms` (the commands here run synchronously, one kubectl after another). */
export function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
