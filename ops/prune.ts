/**
 * The prune after an apply: what an ApplySet does, with rules narrow enough that nothing but the
 * stack's own leftovers can go. An object is deleted only when all of these hold:
 *  - it carries this stack's labels (part-of, managed-by stackport; not every object carries the
 *    environment label, and the namespace already tells environments apart);
 *  - it is in the stack's namespace (a stack of the same name in another namespace is another stack;
 *    cluster-scoped objects are reported, never deleted, since stacks may share them);
 *  - stackport's own field manager applied it (`stackport` in managedFields, operation Apply), so
 *    the Jobs a CronJob or `stackport run` started, and the Secrets, are not candidates;
 *  - nothing owns it, and the output being applied no longer has it.
 * Never pruned: Namespaces and PersistentVolumeClaims (data stays until a person deletes it).
 */
import type { ResolvedStack } from '../model/presets';
import type { Kubectl } from './kubectl';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: unknown[]; managedFields?: { manager?: string; operation?: string }[] };
}

/** Kinds stackport synthesizes (group/version, kind); objects of other kinds in the output are added. */
export const PRUNABLE_KINDS: ReadonlyArray<readonly [string, string]> = [
  ['v1', 'ConfigMap'],
  ['v1', 'Service'],
  ['v1', 'ServiceAccount'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'StatefulSet'],
  ['batch/v1', 'CronJob'],
  ['batch/v1', 'Job'],
  ['networking.k8s.io/v1', 'NetworkPolicy'],
  ['networking.k8s.io/v1', 'Ingress'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['rbac.authorization.k8s.io/v1', 'Role'],
  ['rbac.authorization.k8s.io/v1', 'RoleBinding'],
  ['cert-manager.io/v1', 'Certificate'],
  ['cert-manager.io/v1', 'Issuer'],
  ['gateway.networking.k8s.io/v1', 'Gateway'],
  ['gateway.networking.k8s.io/v1', 'HTTPRoute'],
  ['monitoring.coreos.com/v1', 'ServiceMonitor'],
  ['monitoring.coreos.com/v1', 'PodMonitor'],
  ['monitoring.coreos.com/v1', 'PrometheusRule'],
  ['traefik.io/v1alpha1', 'Middleware'],
  ['external-secrets.io/v1', 'ExternalSecret'],
  ['bitnami.com/v1alpha1', 'SealedSecret'],
  ['gateway.envoyproxy.io/v1alpha1', 'BackendTrafficPolicy'],
];

const NEVER = new Set(['Namespace', 'PersistentVolumeClaim', 'Secret']);

const key = (o: K8sObject) => `${o.apiVersion.split('/').length > 1 ? o.apiVersion.split('/')[0] : ''}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** `kind.group` as kubectl get takes it (core kinds have no group). */
const resourceName = (apiVersion: string, kind: string) => `${kind.toLowerCase()}${apiVersion.includes('/') ? `.${apiVersion.split('/')[0]}` : ''}`;

/** The label selector of one stack's objects (the namespace selects the environment). */
export function stackSelector(stack: ResolvedStack): string {
  return `app.kubernetes.io/part-of=${stack.name},app.kubernetes.io/managed-by=stackport`;
}

/** Leftovers among `live` objects (see the file comment). Pure, for the tests. */
export function leftovers(stack: ResolvedStack, wanted: readonly K8sObject[], live: readonly K8sObject[]): { remove: K8sObject[]; clusterScoped: K8sObject[] } {
  const keep = new Set(wanted.map(key));
  const labels = Object.fromEntries(stackSelector(stack).split(',').map((kv) => kv.split('=')));
  const ours = live.filter(
    (o) =>
      !NEVER.has(o.kind) &&
      !keep.has(key(o)) &&
      Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v) &&
      !(o.metadata.ownerReferences?.length) &&
      (o.metadata.managedFields ?? []).some((f) => f.manager === 'stackport' && f.operation === 'Apply'),
  );
  return { remove: ours.filter((o) => o.metadata.namespace === stack.namespace), clusterScoped: ours.filter((o) => !o.metadata.namespace) };
}

/** Deletes the stack's leftovers; returns `Kind/name` of each. `served` is the cluster's api-versions. */
export function pruneStack(k: Kubectl, stack: ResolvedStack, wanted: readonly K8sObject[], served: ReadonlySet<string>, log: (l: string) => void): string[] {
  const kinds = new Map<string, string>();
  for (const [apiVersion, kind] of [...PRUNABLE_KINDS, ...wanted.map((o) => [o.apiVersion, o.kind] as const)]) {
    if (!NEVER.has(kind) && served.has(apiVersion)) kinds.set(resourceName(apiVersion, kind), apiVersion);
  }
  if (kinds.size === 0) return [];
  // --show-managed-fields: kubectl hides them by default, and they say who applied an object.
  const live = k.items(['get', [...kinds.keys()].join(','), '-A', '-l', stackSelector(stack), '--show-managed-fields']) as K8sObject[];
  const { remove, clusterScoped } = leftovers(stack, wanted, live);
  for (const o of clusterScoped) log(`note: kept ${o.kind}/${o.metadata.name}, cluster-wide and no longer in this stack's output (other stacks may use it): delete it yourself when none does`);
  if (remove.length === 0) return [];
  const names = remove.map((o) => `${resourceName(o.apiVersion, o.kind)}/${o.metadata.name}`);
  log(k.ok(['-n', stack.namespace, 'delete', ...names, '--ignore-not-found', '--wait=false']).trim());
  return remove.map((o) => `${o.kind}/${o.metadata.name}`);
}
