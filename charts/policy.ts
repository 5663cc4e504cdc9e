/**
 * Policy exceptions, in one place. Where a linter's finding is wrong for the user, the object gets
 * the tool's own suppression annotation carrying the reason, derived from what was rendered (so it
 * appears exactly where the condition holds and nowhere else). docs/policy.md lists the same table;
 * a test keeps the two in step.
 */
import type { ResolvedStack } from '../model/presets';
import { ACME_SOLVER_POLICY } from './network-policies';
import { PGADMIN_IMAGE } from './pgadmin';
import { POSTGRES_IMAGE } from './postgres';
import { REDIS_IMAGE } from './redis';

const WORKLOADS = ['Deployment', 'StatefulSet', 'Job', 'CronJob', 'DaemonSet'];

export interface PolicyException {
  readonly id: string;
  /** kube-score check ids suppressed with `kube-score/ignore`. */
  readonly kubeScore: readonly string[];
  /** Checkov check ids suppressed with `checkov.io/skipN`. */
  readonly checkov: readonly string[];
  /** Trivy check ids (KSV-…): the gate ignores them for this object only (scripts/policy/trivy.ts). */
  readonly trivy: readonly string[];
  /** Kyverno policy/rule names: the gate grants this object a PolicyException (scripts/policy/kyverno.ts). */
  readonly kyverno: readonly string[];
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

/** Every image the resolved spec names (any `image` field), and the defaults stackport fills in. */
function declaredImages(stack: ResolvedStack): Set<string> {
  const found = new Set<string>([POSTGRES_IMAGE, REDIS_IMAGE, PGADMIN_IMAGE]);
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        if (k === 'image' && typeof x === 'string') found.add(x);
        else walk(x);
      }
  };
  walk(stack.spec);
  return found;
}

/** The registries Trivy's KSV-0125 trusts unless told otherwise: ACR, ECR and GCR. */
const TRIVY_TRUSTED = /(^|\.)(azurecr\.io|amazonaws\.com(\.cn)?|gcr\.io)$/;
/** KSV-0125 reads whatever precedes the first "/" as the registry (for dpage/pgadmin4, "dpage"). */
const trivyDistrusts = (image: string): boolean => image.includes('/') && !TRIVY_TRUSTED.test(image.split('/')[0]);

/** Lines KSV-0109 takes for a secret in a ConfigMap: one of its words, then "=" or ":". */
const SECRET_LIKE = /(password|pass|pword|passphrase|passwrd|passwd|secret|secretkey|appsecret|clientsecret|aws_access_key_id|pswrd|token|pwd)\s*[=:]/i;
/** psql's interpolation of a variable as a quoted literal: PASSWORD :'pw'. */
const PSQL_PASSWORD_VARIABLE = /\bPASSWORD\s*:'[A-Za-z_][A-Za-z0-9_]*'/;

/** The volume claims an object makes: itself, or a StatefulSet's templates. */
const claimsOf = (obj: any): any[] => (obj.kind === 'PersistentVolumeClaim' ? [obj] : (obj.spec?.volumeClaimTemplates ?? []));

export const POLICY_EXCEPTIONS: readonly PolicyException[] = [
  {
    id: 'local-images',
    kubeScore: ['container-image-pull-policy'],
    checkov: ['CKV_K8S_15'],
    trivy: [],
    kyverno: [],
    reason: 'kind and k3d run images loaded with `kind load` or `k3d image import`; with pull policy Always the kubelet would pull from the registry instead and fail',
    applies: (obj) => containersOf(obj).some((c) => c.imagePullPolicy !== 'Always'),
  },
  {
    id: 'tag-pinned-images',
    kubeScore: [],
    checkov: ['CKV_K8S_43'],
    trivy: [],
    kyverno: [],
    reason: 'the image is pinned to a version tag in the stack spec; write it as name@sha256:<digest> there to pin by digest and this exception goes away',
    applies: (obj) => containersOf(obj).some((c) => !String(c.image).includes('@sha256:')),
  },
  {
    id: 'connection-urls-from-secrets',
    kubeScore: [],
    checkov: ['CKV_K8S_35'],
    trivy: [],
    kyverno: [],
    reason: 'apps read DATABASE_URL and REDIS_URL from the environment; Kubernetes assembles them from the Secret with $(VAR) expansion, so no password is ever in the manifest',
    applies: (obj) => containersOf(obj).some((c) => (c.env ?? []).some((e: any) => e.valueFrom?.secretKeyRef)),
  },
  {
    id: 'file-capability-binary',
    kubeScore: [],
    checkov: ['CKV_K8S_25'],
    trivy: ['KSV-0022'],
    kyverno: [],
    reason: 'the image runs a binary with the NET_BIND_SERVICE file capability (pgAdmin\'s python); exec fails unless that capability stays in the bounding set. Pod Security "restricted" allows exactly this one',
    applies: (obj) => containersOf(obj).some((c) => (c.securityContext?.capabilities?.add ?? []).length > 0),
  },
  {
    id: 'images-named-by-the-spec',
    kubeScore: [],
    checkov: [],
    trivy: ['KSV-0125'],
    kyverno: [],
    reason: 'Trivy trusts only ACR, ECR and GCR unless told otherwise, and reads a Docker Hub namespace (dpage/ in dpage/pgadmin4) as a registry; every such image of this object is one the stack spec or its defaults name, so the registry is the spec owner\'s choice. Admit your registries in the cluster\'s admission policy',
    applies: (obj, stack) => {
      const flagged = containersOf(obj).map((c) => String(c.image)).filter(trivyDistrusts);
      const declared = declaredImages(stack);
      return flagged.length > 0 && flagged.every((i) => declared.has(i));
    },
  },
  {
    id: 'psql-password-variables',
    kubeScore: [],
    checkov: [],
    trivy: ['KSV-0109'],
    kyverno: [],
    reason: 'the init script sets passwords with psql variables (PASSWORD :\'pw\'), read at run time from files mounted from Secrets; the ConfigMap holds no secret',
    kinds: ['ConfigMap'],
    applies: (obj) => {
      const lines = Object.values(obj.data ?? {}).flatMap((v) => String(v).split('\n')).filter((l) => SECRET_LIKE.test(l));
      return lines.length > 0 && lines.every((l) => PSQL_PASSWORD_VARIABLE.test(l) && !SECRET_LIKE.test(l.replace(PSQL_PASSWORD_VARIABLE, '')));
    },
  },
  {
    id: 'cluster-default-storage-class',
    kubeScore: [],
    checkov: [],
    trivy: [],
    kyverno: ['require-storageclass/ss-storageclass', 'require-storageclass/pvc-storageclass'],
    reason: 'the spec names no storage class for this environment, so the claim gets the cluster\'s default class; set environments.<env>.storageClass to name one and this exception goes away',
    kinds: ['StatefulSet', 'PersistentVolumeClaim'],
    applies: (obj, stack) => stack.storageClass === undefined && claimsOf(obj).some((c) => !c.spec?.storageClassName),
  },
  {
    id: 'read-write-once-volume',
    kubeScore: ['deployment-strategy'],
    checkov: [],
    trivy: [],
    kyverno: [],
    reason: 'the pod mounts a ReadWriteOnce volume, which one node at a time may attach: a rolling update would start the new pod while the old one holds it, so the old pod stops first (Recreate). Give the volume accessMode ReadWriteMany to roll without a gap',
    kinds: ['Deployment'],
    applies: (obj) => obj.spec.strategy?.type === 'Recreate',
  },
  {
    id: 'one-worker-unless-told',
    kubeScore: ['deployment-replicas'],
    checkov: [],
    trivy: [],
    kyverno: [],
    reason: 'a continuous worker runs one replica unless the spec sets replicas: whether two copies may run at once is the app\'s to say (a scheduler such as celery beat must not). Its headless Service only gives it a DNS name',
    kinds: ['Deployment'],
    applies: (obj, stack) => {
      const c = stack.components[obj.metadata.labels?.['app.kubernetes.io/instance']];
      return !stack.preset.local && c?.kind === 'worker' && obj.spec.replicas === 1;
    },
  },
  {
    id: 'single-replica-on-a-laptop',
    kubeScore: ['deployment-replicas'],
    checkov: [],
    trivy: [],
    kyverno: [],
    reason: 'kind and k3d run one replica of everything so the stack fits a laptop node; prod runs two or more with an HPA and a PodDisruptionBudget',
    applies: (obj, stack) => obj.kind === 'Deployment' && stack.preset.local && obj.spec.replicas === 1,
  },
  {
    id: 'acme-solver-pods',
    kubeScore: ['networkpolicy-targets-pod'],
    checkov: [],
    trivy: [],
    kyverno: [],
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
