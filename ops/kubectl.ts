/**
 * kubectl bound to one kube context: every laptop command acts on exactly one context, named in its
 * first line of output, and passes it on every call (never the kubeconfig's current context, which
 * another terminal may change).
 */
import { spawnSync, type StdioOptions } from 'node:child_process';
import { missing, OpsError, run, runOk, type RunOptions, type RunResult, shown } from './exec';

export interface KubectlTarget {
  /** The kube context every call names; only tests with a one-cluster kubeconfig leave it out. */
  readonly context?: string;
  /** @default kubectl's own choice (KUBECONFIG, ~/.kube/config) */
  readonly kubeconfig?: string;
  /** @default "kubectl" from PATH */
  readonly kubectl?: string;
}

export class Kubectl {
  constructor(readonly target: KubectlTarget) {}

  get context(): string {
    return this.target.context ?? '(the kubeconfig\'s current context)';
  }

  /** The kubectl binary every call runs. */
  get binary(): string {
    return this.target.kubectl ?? 'kubectl';
  }

  /**
   * kubectl with the given stdio (the terminal, a file, a file read as input): for interactive
   * shells, followed logs and dumps that must not pass through a string. Returns the exit status
   * and whatever stderr was piped.
   */
  attached(args: readonly string[], stdio: StdioOptions): { status: number; stderr: string } {
    const r = spawnSync(this.binary, [...this.base(), ...args], { stdio, encoding: 'utf8' });
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw missing(this.binary);
    return { status: r.status ?? 1, stderr: (r.stderr as string | null) ?? r.error?.message ?? '' };
  }

  /** The arguments every call starts with. */
  base(): string[] {
    return [...(this.target.kubeconfig ? ['--kubeconfig', this.target.kubeconfig] : []), ...(this.target.context ? ['--context', this.target.context] : [])];
  }

  run(args: readonly string[], o: RunOptions = {}): RunResult {
    return run(this.binary, [...this.base(), ...args], o);
  }

  /** Standard output; a failure is an OpsError with kubectl's own message. */
  ok(args: readonly string[], o: RunOptions = {}): string {
    try {
      return runOk(this.binary, [...this.base(), ...args], o);
    } catch (e) {
      if (e instanceof OpsError && !e.message.includes('not found on PATH')) {
        throw new OpsError(`kubectl ${shown(args)} (context ${this.context}) failed: ${e.message.replace(/^.*?failed \(exit \d+\):? ?/, '')}`);
      }
      throw e;
    }
  }

  /** The object (or List) as JSON; undefined when it does not exist. */
  json(args: readonly string[]): any {
    const out = this.ok([...args, '-o', 'json', '--ignore-not-found']).trim();
    return out ? JSON.parse(out) : undefined;
  }

  /** Items of a list; [] when the kind's API is not served. */
  items(args: readonly string[]): any[] {
    return this.json(args)?.items ?? [];
  }

  /** Server-side apply of `objects` as one JSON List (kubectl reads YAML as YAML 1.1: `on` would turn boolean). */
  apply(objects: readonly object[], manager: string, extra: readonly string[] = []): string {
    if (objects.length === 0) return '';
    return this.ok(['apply', '--server-side', `--field-manager=${manager}`, ...extra, '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) }).trim();
  }
}
