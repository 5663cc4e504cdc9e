/**
 * What every laptop command starts from: the spec (--spec, else ./stack.yaml, else the reference
 * stack), the environment, and the one kube context it acts on, printed first.
 *
 * The context: with --context, that one (it must exist in the kubeconfig); without, the environment's
 * own cluster (kind-<name>, k3d-<name>), never the kubeconfig's current context, which may be another
 * cluster entirely. prod has no own cluster: it is never targeted without an explicit --context.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadSpecFile } from '../model/load';
import { resolveStack, type ResolvedStack } from '../model/presets';
import { ENVIRONMENTS, type EnvironmentName, type StackSpec } from '../model/schema';
import { OpsError, run } from './exec';
import { Kubectl } from './kubectl';

/** The options every laptop command takes (node:util parseArgs form). */
export const TARGET_OPTIONS = {
  spec: { type: 'string' },
  env: { type: 'string' },
  context: { type: 'string' },
  kubeconfig: { type: 'string' },
} as const;

export interface TargetValues {
  spec?: string;
  env?: string;
  context?: string;
  kubeconfig?: string;
}

export interface Target {
  readonly spec: StackSpec;
  /** The spec file, when one was read. */
  readonly specFile?: string;
  /** Where files that belong with the spec go (.secrets/, .stackport/). */
  readonly projectDir: string;
  readonly environment: EnvironmentName;
  readonly stack: ResolvedStack;
  readonly context: string;
  readonly kubeconfig?: string;
  readonly kubectl: Kubectl;
}

/** The cluster name of a stack on kind and k3d: its name, as both tools accept it. */
export function clusterNameOf(stack: { name: string }): string {
  return stack.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32) || 'stackport';
}

/** The context kind or k3d writes for the stack's own cluster; undefined for prod. */
export function ownContext(environment: EnvironmentName, stack: { name: string }): string | undefined {
  if (environment === 'kind') return `kind-${clusterNameOf(stack)}`;
  if (environment === 'k3d') return `k3d-${clusterNameOf(stack)}`;
  return undefined;
}

export function readSpec(values: TargetValues, note: (n: string) => void = (n) => process.stderr.write(`note: ${n}\n`)): { spec: StackSpec; specFile?: string; projectDir: string } {
  const file = values.spec ?? (existsSync('stack.yaml') ? 'stack.yaml' : undefined);
  if (!file) return { spec: require('../model/reference').referenceStack, projectDir: process.cwd() };
  return { spec: loadSpecFile(file, { onNote: note }), specFile: file, projectDir: dirname(resolve(file)) };
}

export function environmentOf(value: string | undefined, fallback: EnvironmentName = 'kind'): EnvironmentName {
  const env = (value ?? fallback) as EnvironmentName;
  if (!ENVIRONMENTS.includes(env)) throw new OpsError(`environment "${value}": expected one of ${ENVIRONMENTS.join(', ')}`, 2);
  return env;
}

/** The contexts of the kubeconfig kubectl would read. */
export function kubeContexts(kubeconfig?: string): string[] {
  const r = run('kubectl', [...(kubeconfig ? ['--kubeconfig', kubeconfig] : []), 'config', 'get-contexts', '-o', 'name']);
  return r.status === 0 ? r.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
}

/**
 * The context to act on (see the file comment). `mayCreate`: `up` creates the own cluster when its
 * context is missing, so that is not an error there.
 */
export function chooseContext(environment: EnvironmentName, stack: { name: string }, values: TargetValues, contexts: readonly string[], mayCreate = false): string {
  if (values.context) {
    if (!contexts.includes(values.context)) throw new OpsError(`--context ${values.context}: the kubeconfig has no such context (it has: ${contexts.join(', ') || 'none'})`);
    return values.context;
  }
  const own = ownContext(environment, stack);
  if (!own) throw new OpsError(`${environment} is never targeted without an explicit --context: name the production cluster's context (kubectl config get-contexts lists them)`, 2);
  if (!contexts.includes(own) && !mayCreate) {
    throw new OpsError(`the ${environment} cluster of ${stack.name} (context ${own}) does not exist: run stackport up ${environment} first, or pass --context to use another cluster`);
  }
  return own;
}

export function openTarget(values: TargetValues, environment: EnvironmentName, opts: { mayCreate?: boolean; quiet?: boolean } = {}): Target {
  const { spec, specFile, projectDir } = readSpec(values);
  const stack = resolveStack(spec, environment, specFile);
  const context = chooseContext(environment, stack, values, kubeContexts(values.kubeconfig), opts.mayCreate);
  if (!opts.quiet) process.stderr.write(`context: ${context}\n`);
  return { spec, specFile, projectDir, environment, stack, context, kubeconfig: values.kubeconfig, kubectl: new Kubectl({ context, kubeconfig: values.kubeconfig }) };
}
