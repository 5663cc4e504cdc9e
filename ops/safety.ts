/**
 * Which kube context a command acts on. Never the kubeconfig's current context (another terminal may
 * have switched it to production): without `--context`, a local environment's own cluster, and prod
 * not at all.
 */
import type { EnvironmentName, StackSpec } from '../model/schema';
import { clusterName, ownContext } from './cluster';
import { OpsError, runOk } from './exec';

export interface ContextChoice {
  readonly env: EnvironmentName;
  readonly spec: Pick<StackSpec, 'name'>;
  /** `--context`, when the user gave one. */
  readonly context?: string;
  readonly kubeconfig?: string;
}

export interface ChosenContext {
  readonly context: string;
  /** True when it is the environment's own kind/k3d cluster of this stack. */
  readonly own: boolean;
}

export function chooseContext(c: ContextChoice): ChosenContext {
  const own = c.env === 'prod' ? undefined : ownContext(c.env, clusterName(c.spec));
  if (c.context === undefined) {
    if (!own) throw new OpsError('prod is never targeted without an explicit --context: pass --context <the production context>', 2);
    return { context: own, own: true };
  }
  const known = kubeContexts(c.kubeconfig);
  if (!known.includes(c.context)) {
    const where = c.kubeconfig ?? 'the kubeconfig (KUBECONFIG or ~/.kube/config)';
    throw new OpsError(`--context ${c.context}: no such context in ${where}; the contexts there are: ${known.length ? known.join(', ') : '(none)'}`, 2);
  }
  return { context: c.context, own: c.context === own };
}

/** Context names in the kubeconfig, one per line of `kubectl config get-contexts -o name`. */
export function kubeContexts(kubeconfig?: string): string[] {
  const args = [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), 'config', 'get-contexts', '-o', 'name'];
  return runOk('kubectl', args).split('\n').map((l) => l.trim()).filter(Boolean);
}

/** The first line of every command: the context it acts on, on standard error so piped output stays clean. */
export function announce(context: string, write: (s: string) => void = (s) => process.stderr.write(s)): void {
  write(`context: ${context}\n`);
}
