/**
 * Policy exceptions, in one place. Where a linter's finding is wrong for the user, the object gets
 * the tool's own suppression annotation carrying the reason, derived from what was rendered (so it
 * appears exactly where the condition holds and nowhere else). docs/policy.md lists the same table;
 * a test keeps the two in step.
 */
import type { ResolvedStack } from '../model/presets';
import { ACME_SOLVER_POLICY } from './network-policies';

const WORKLOADS = ['Deployment', 'StatefulSet', 'Job', 'CronJob', 'DaemonSet'];

export interface PolicyException {
  readonly id: string;
  /** kube-score check ids suppressed with `kube-score/ignore`. */
  readonly kubeScore: readonly string[];
  /** Checkov check ids suppressed with `checkov.io/skipN`. */
  readonly checkov: readonly string[];
  readonly reason: string;
  /** The kinds of object it is for. Default: the workloads. */
  readonly kinds?: readonly string[];
  /** Whether the rendered object (of one of `kinds`) needs it. */
  readonly applies: (obj: any, stack: ResolvedStack) => boolean;
}

const containersOf = (obj: any): any[] => {
  const spec = obj.kind === 'CronJob' ? obj.spec.jobTemplate.spec.template.spec : obj.spec.template.spec;
  return [...spec.containers, ...(spec.initContainers ?? [])];
};

export const POLICY_EXCEPTIONS: readonly PolicyException[] = [
  {
    id: 'local-images',
    kubeScore: ['container-image-pull-policy'],
    checkov: ['CKV_K8S_15'],
    reason: 'kind and k3d run images loaded with `kind load` or `k3d image import`; with pull policy Always the kubelet would pull from the registry instead and fail',
    applies: (obj) => containersOf(obj).some((c) => c.imagePullPolicy !== 'Always'),
  },
  {
    id: 'tag-pinned-images',
    kubeScore: [],
    checkov: ['CKV_K8S_43'],
    reason: 'the image is pinned to a version tag in the stack spec; write it as name@sha256:<digest> there to pin by digest and this exception goes away',
    applies: (obj) => containersOf(obj).some((c) => !String(c.image).includes('@sha256:')),
  },
  {
    id: 'connection-urls-from-secrets',
    kubeScore: [],
    checkov: ['CKV_K8S_35'],
    reason: 'apps read DATABASE_URL and REDIS_URL from the environment; Kubernetes assembles them from the Secret with $(VAR) expansion, so no password is ever in the manifest',
    applies: (obj) => containersOf(obj).some((c) => (c.env ?? []).some((e: any) => e.valueFrom?.secretKeyRef)),
  },
  {
    id: 'file-capability-binary',
    kubeScore: [],
    checkov: ['CKV_K8S_25'],
    reason: 'the image runs a binary with the NET_BIND_SERVICE file capability (pgAdmin\'s python); exec fails unless that capability stays in the bounding set. Pod Security "restricted" allows exactly this one',
    applies: (obj) => containersOf(obj).some((c) => (c.securityContext?.capabilities?.add ?? []).length > 0),
  },
  {
    id: 'single-replica-on-a-laptop',
    kubeScore: ['deployment-replicas'],
    checkov: [],
    reason: 'kind and k3d run one replica of everything so the stack fits a laptop node; prod runs two or more with an HPA and a PodDisruptionBudget',
    applies: (obj, stack) => obj.kind === 'Deployment' && stack.preset.local && obj.spec.replicas === 1,
  },
  {
    id: 'acme-solver-pods',
    kubeScore: ['networkpolicy-targets-pod'],
    checkov: [],
    reason: 'the policy admits the edge to the HTTP-01 solver pods cert-manager creates only while an ACME challenge is open, so no rendered pod matches it',
    kinds: ['NetworkPolicy'],
    applies: (obj) => obj.metadata.name === ACME_SOLVER_POLICY,
  },
];

/**
 * Adds the suppression annotations each rendered object needs. It works on the chart's JSON, so
 * every object is rendered once (StackChart.toJson calls it).
 */
export function addPolicyExceptions(objects: any[], stack: ResolvedStack): void {
  for (const json of objects) {
    const found = POLICY_EXCEPTIONS.filter((e) => (e.kinds ?? WORKLOADS).includes(json.kind) && e.applies(json, stack));
    if (found.length === 0) continue;
    const annotations: Record<string, string> = { ...json.metadata.annotations };
    annotations['stackport.dev/policy-exceptions'] = found.map((e) => e.id).join(',');
    const kubeScore = found.flatMap((e) => e.kubeScore);
    if (kubeScore.length > 0) annotations['kube-score/ignore'] = kubeScore.join(',');
    found
      .flatMap((e) => e.checkov.map((id) => `${id}=${e.id}: ${e.reason}`))
      .forEach((value, i) => (annotations[`checkov.io/skip${i + 1}`] = value));
    // Sorted as cdk8s sorts metadata, so the output reads the same as any other object's.
    json.metadata = sortedKeys({ ...json.metadata, annotations: sortedKeys(annotations) });
  }
}

const sortedKeys = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) as T;
