/**
 * What web services, workers and jobs share: the application container built from the spec
 * (image, command, derived connection settings, Secrets). Their init containers are in waits.ts.
 */
import type { JobComponent, StatefulComponent, WebComponent, WorkerComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { connectionEnv, type EnvVar } from '../model/relations';
import type { Construct } from 'constructs';
import { k8s } from './k8s';
import { meta } from './labels';
import type { ContainerProps } from './pod';

type AppComponent = Resolved<WebComponent> | Resolved<WorkerComponent> | Resolved<JobComponent>;

/** Default migration command. */
export const ALEMBIC_UPGRADE = ['alembic', 'upgrade', 'head'];

/** Every variable of a component: connections first, so its own settings may refer to them as $(VAR). */
export function appEnv(stack: ResolvedStack, c: AppComponent | Resolved<StatefulComponent>): EnvVar[] {
  const out: EnvVar[] = connectionEnv(stack.spec, c.name);
  for (const [name, ref] of Object.entries(c.secretEnv ?? {})) out.push({ name, secret: { name: ref.secret, key: ref.key } });
  for (const [name, value] of Object.entries(c.env ?? {})) out.push({ name, value });
  return out;
}

export function appContainer(stack: ResolvedStack, c: AppComponent, extra: Partial<ContainerProps> = {}): ContainerProps {
  return {
    name: c.name,
    image: c.image,
    command: c.command ?? (c.kind === 'job' && c.args === undefined ? ALEMBIC_UPGRADE : undefined),
    args: c.args,
    env: appEnv(stack, c),
    envFrom: c.envFrom,
    resources: c.resources,
    ...extra,
  };
}

/** Whether a Deployment must stop its old pod before starting a new one: a ReadWriteOnce volume may be attached to one node only. */
export function needsRecreate(stack: ResolvedStack, c: AppComponent): boolean {
  return (c.volumes ?? []).some((v) => (stack.spec.volumes?.[v.volume]?.accessMode ?? 'ReadWriteOnce') === 'ReadWriteOnce');
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The PodDisruptionBudget of a Deployment with more than one replica: a drain evicts one pod at a
 * time, and a pod that is not Ready may always go (so a broken rollout cannot block the drain).
 */
export function disruptionBudget(scope: Construct, stack: ResolvedStack, name: string, labels: Record<string, string>, selector: Record<string, string>): k8s.KubePodDisruptionBudget {
  return new k8s.KubePodDisruptionBudget(scope, 'pdb', {
    metadata: meta(stack, name, labels),
    spec: {
      maxUnavailable: k8s.IntOrString.fromNumber(1),
      selector: { matchLabels: selector },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  });
}
