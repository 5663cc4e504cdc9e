/** Builds manifests in memory for tests and finds objects in them. */
import { buildManifests } from '../../charts/synth';
import { parseSpec } from '../../model/load';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
import type { EnvironmentName, StackSpec, StackSpecInput } from '../../model/schema';

export function manifests(spec: StackSpec = referenceStack, env: EnvironmentName = 'kind'): any[] {
  return buildManifests(resolveStack(spec, env));
}

export function manifestsOf(input: StackSpecInput, env: EnvironmentName = 'kind'): any[] {
  return manifests(parseSpec(input, 'test spec'), env);
}

/** The object of that kind and name; a release Job is found by its component name (its own name carries a hash). */
export function find(objects: any[], kind: string, name: string): any {
  const found = objects.find((o) => o.kind === kind && (o.metadata?.name === name || (kind === 'Job' && o.metadata?.labels?.['stackport.dev/release-job'] === name)));
  if (!found) throw new Error(`no ${kind}/${name} in [${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(', ')}]`);
  return found;
}

export function has(objects: any[], kind: string, name: string): boolean {
  return objects.some((o) => o.kind === kind && o.metadata?.name === name);
}

/** The pod spec of a workload object (Deployment, StatefulSet, Job, CronJob). */
export function podSpec(obj: any): any {
  if (obj.kind === 'CronJob') return obj.spec.jobTemplate.spec.template.spec;
  return obj.spec.template.spec;
}

export function container(obj: any, name?: string): any {
  const spec = podSpec(obj);
  return name ? [...spec.containers, ...(spec.initContainers ?? [])].find((c: any) => c.name === name) : spec.containers[0];
}

export function envOf(c: any): Record<string, any> {
  return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}
