/**
 * What every laptop command starts from: the spec (--spec, else ./stack.yaml, else the reference
 * stack), the environment, and the one kube context it acts on, printed first.
 * The context rules are ops/safety.ts's.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { loadSpecFile } from '../model/load';
import { resolveStack, type ResolvedStack } from '../model/presets';
import { ENVIRONMENTS, type EnvironmentName, type StackSpec } from '../model/schema';
import { OpsError } from './exec';
import { Kubectl } from './kubectl';
import { announce, chooseContext, kubeContexts } from './safety';

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

/** `loaded`: the spec already read (by `up`, which needs it before the cluster exists). */
export function openTarget(values: TargetValues, environment: EnvironmentName, opts: { mayCreate?: boolean; quiet?: boolean; loaded?: ReturnType<typeof readSpec> } = {}): Target {
  const { spec, specFile, projectDir } = opts.loaded ?? readSpec(values);
  const stack = resolveStack(spec, environment, specFile);
  const { context, own } = chooseContext({ env: environment, spec, context: values.context, kubeconfig: values.kubeconfig });
  // `up` creates the own cluster when it is missing; every other command needs it to exist.
  if (own && !opts.mayCreate && !kubeContexts(values.kubeconfig).includes(context)) {
    throw new OpsError(`the ${environment} cluster of ${stack.name} (context ${context}) does not exist: run stackport up ${environment} first, or pass --context to use another cluster`);
  }
  if (!opts.quiet) announce(context);
  return { spec, specFile, projectDir, environment, stack, context, kubeconfig: values.kubeconfig, kubectl: new Kubectl({ context, kubeconfig: values.kubeconfig }) };
}
