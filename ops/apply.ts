/**
 * Applies one synthesized environment to a cluster, in the order a first deploy needs, and removes
 * what the spec no longer has:
 *
 * 1. the Namespace, then the Secrets the stack references (ops/secrets.ts), so no pod starts before
 *    its Secrets exist;
 * 2. a check that the cluster serves every API the manifests use (cert-manager, Gateway API, the
 *    monitoring CRDs, Traefik's): when one is missing it stops with the add-on to install, before any
 *    workload is applied, unless `skipMissing` applies everything else and lists what it left out;
 * 3. against the running stack (ops/stateful-changes.ts): a PostgreSQL major version change is
 *    refused before anything is applied; a larger volume is carried out (claims expanded, the
 *    StatefulSet replaced around its running pods), a smaller one refused;
 * 4. rotated passwords (ops/rotation.ts): the running servers' sidecars put each Secret's current
 *    password in force, checked by logging in, before the clients restart; each client's pod
 *    template carries a hash of the Secrets it reads, so exactly those whose Secrets changed roll;
 * 5. one server-side apply (field manager `stackport`), then the prune: objects of this stack and
 *    environment in its namespace that stackport applied earlier and that the output no longer has
 *    are deleted (ops/prune.ts). That also removes the run-once Jobs of earlier releases (named after
 *    a hash of their spec: an unchanged release keeps its finished Job and runs nothing).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { shownPath } from '../charts/sealed-secrets';
import { resolveStack } from '../model/presets';
import type { EnvironmentName, StackSpec } from '../model/schema';
import { OpsError } from './exec';
import { Kubectl } from './kubectl';
import { type K8sObject, pruneStack } from './prune';
import { passwordsInForce, withSecretsHash } from './rotation';
import { storeKeys, writeSecrets } from './secrets';
import { bytes, type Live, planStatefulChanges, type StatefulPlan } from './stateful-changes';

/** API groups the stack may use that a cluster does not have by default, and what provides them. */
const ADD_ONS: Record<string, string> = {
  'cert-manager.io': 'cert-manager (stackport up installs it; docs/local-clusters.md has the manual step)',
  'gateway.networking.k8s.io': 'the Gateway API CRDs and an implementation (cloud-provider-kind on kind, Envoy Gateway in prod)',
  'monitoring.coreos.com': 'the prometheus-operator CRDs (kubectl apply --server-side -f crds/monitoring.coreos.com.yaml)',
  'traefik.io': "Traefik's CRDs (k3s ships them; elsewhere install Traefik v3)",
  'gateway.envoyproxy.io': 'Envoy Gateway (its install brings the CRDs; the one stackport uses alone: kubectl apply --server-side -f crds/gateway.envoyproxy.io.yaml)',
  'external-secrets.io': 'External Secrets Operator (with the SecretStore the spec names)',
  'bitnami.com': 'the Sealed Secrets controller (its install brings the CRD; the sealed file must be sealed with its certificate)',
};

export class ApplyError extends OpsError {}

/** The objects of dist/<env>, in file order. */
export function readDist(dir: string): K8sObject[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.k8s.yaml')).sort();
  } catch {
    throw new ApplyError(`${dir} does not exist: run stackport synth first`);
  }
  const out: K8sObject[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = doc.toJS() as K8sObject | null;
      if (o?.apiVersion && o.kind) out.push(o);
    }
  }
  if (out.length === 0) throw new ApplyError(`${dir} holds no Kubernetes objects: run stackport synth first`);
  return out;
}

/** Objects whose API the cluster does not serve, by add-on. */
export function missingApis(objects: K8sObject[], served: Set<string>): Map<string, K8sObject[]> {
  const missing = new Map<string, K8sObject[]>();
  for (const o of objects) {
    if (served.has(o.apiVersion)) continue;
    const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : 'core';
    const addOn = ADD_ONS[group] ?? `the API ${o.apiVersion}`;
    missing.set(addOn, [...(missing.get(addOn) ?? []), o]);
  }
  return missing;
}

const describe = (objs: K8sObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');

export interface ApplyOptions {
  readonly environment: EnvironmentName;
  readonly spec: StackSpec;
  /** The file the spec was read from, if any: spec-relative paths (the sealed file) start from its folder. */
  readonly specFile?: string;
  readonly dist: string;
  readonly secretsFile: string;
  /** The kube context every call names (see ops/kubectl.ts). */
  readonly context?: string;
  readonly skipMissing?: boolean;
  /** Leave objects the output no longer has (they are deleted by default). */
  readonly noPrune?: boolean;
  /** @default "kubectl" from PATH */
  readonly kubectl?: string;
  /** @default kubectl's own choice (KUBECONFIG, ~/.kube/config) */
  readonly kubeconfig?: string;
  readonly log?: (line: string) => void;
}

export interface ApplyResult {
  readonly namespace: string;
  readonly applied: readonly K8sObject[];
  /** `Kind/name` of what the prune deleted. */
  readonly pruned: readonly string[];
}

export function applyEnvironment(o: ApplyOptions): ApplyResult {
  const log = o.log ?? console.log;
  const objects = readDist(join(o.dist, o.environment));
  const stack = resolveStack(o.spec, o.environment, o.specFile);
  const namespaces = objects.filter((x) => x.kind === 'Namespace');
  if (!namespaces.some((n) => n.metadata.name === stack.namespace)) {
    throw new ApplyError(`${join(o.dist, o.environment)} has no Namespace ${stack.namespace}: it was synthesized from another spec; synthesize this one first`);
  }
  const k = new Kubectl({ context: o.context, kubeconfig: o.kubeconfig, kubectl: o.kubectl });
  // The running stack's StatefulSets and pods in one read, when first needed: by the checks below
  // (a stack with StatefulSets) and the password checks (a stack with its own servers).
  let runningObjects: Map<string, any> | undefined;
  const running = () => (runningObjects ??= new Map(k.items(['-n', stack.namespace, 'get', 'statefulsets,pods']).map((x: any) => [`${x.kind}/${x.metadata.name}`, x])));
  const live: Live = {
    statefulSet: (ns, name) => (ns === stack.namespace ? running().get(`StatefulSet/${name}`) : k.json(['-n', ns, 'get', 'statefulset', name])),
    claims: (ns, sts, template) => k.items(['-n', ns, 'get', 'pvc']).filter((c: any) => new RegExp(`^${template}-${sts}-\\d+$`).test(c.metadata.name)),
    storageClass: (name) => (name ? k.json(['get', 'storageclass', name]) : undefined),
  };
  const stateful = planStatefulChanges(objects, live);
  if (stateful.refusals.length > 0) {
    throw new ApplyError(`nothing was applied; the running stack cannot take this change:\n${stateful.refusals.map((r) => `  - ${r}`).join('\n')}`);
  }

  // The stack's own objects are stackport's to set: a field someone changed by hand (kubectl edit,
  // patch) is taken back rather than failing the apply with a conflict. Secrets are not forced: a
  // value rotated in the cluster is kept.
  const apply = (objs: object[], manager: string) => {
    const out = k.apply(objs, manager, manager === 'stackport' ? ['--force-conflicts'] : []);
    if (out) log(out);
  };
  apply(namespaces, 'stackport');
  const keys = storeKeys(o.spec, o.environment);
  if (stack.sealedSecrets) {
    const { controller } = stack.sealedSecrets;
    log(`Secrets come from the SealedSecrets in ${join(o.dist, o.environment)} (sealed file ${shownPath(stack.sealedSecrets.path)}); the Sealed Secrets controller ${controller.namespace}/${controller.name} decrypts them`);
  } else if (keys) {
    log(`Secrets come from the secret store (ExternalSecrets in ${join(o.dist, o.environment)}); it must hold:\n${keys.map((x) => `  ${x}`).join('\n')}`);
  } else {
    const secrets = writeSecrets(o.spec, o.environment, o.secretsFile);
    for (const w of secrets.warnings) log(`warning: ${w}`);
    apply(secrets.objects, 'stackport-secrets');
    log(`created or kept ${secrets.objects.length} Secrets (values in ${o.secretsFile})`);
  }

  const served = new Set(k.ok(['api-versions']).split('\n').map((l) => l.trim()).filter(Boolean));
  const missing = missingApis(objects, served);
  if (missing.size > 0) {
    const lines = [...missing].map(([addOn, objs]) => `  - ${addOn}: needed by ${describe(objs)}`);
    if (!o.skipMissing) {
      throw new ApplyError(
        `the cluster lacks what ${objects.length - namespaces.length} objects need; nothing but the Namespace and Secrets was applied:\n${lines.join('\n')}\n` +
          'Install it and run again (stackport up installs the add-ons of kind and k3d), or pass --skip-missing to apply everything else now.',
      );
    }
    log(`warning: left out (the cluster lacks their API):\n${lines.join('\n')}`);
  }
  const skipped = new Set([...missing.values()].flat());
  for (const e of stateful.expansions) {
    for (const claim of e.claims) {
      log(k.ok(['-n', e.namespace, 'patch', 'pvc', claim, '--type=merge', '-p', JSON.stringify({ spec: { resources: { requests: { storage: e.size } } } })]).trim());
    }
    // The template cannot change in place: the StatefulSet goes, its pods and claims stay, and the
    // apply below recreates it, adopting them.
    log(k.ok(['-n', e.namespace, 'delete', 'statefulset', e.statefulSet, '--cascade=orphan', '--wait=true']).trim());
    log(`volume ${e.template} of StatefulSet ${e.namespace}/${e.statefulSet}: ${e.from} -> ${e.size} (${e.claims.length} claim(s) asked to grow; the StatefulSet is recreated with its pods and claims kept)`);
  }
  // Rotated passwords in force on the running servers before any client restarts with them. The
  // Secrets are read once, after their apply, for those checks and the clients' hashes.
  let secrets: Map<string, any> | undefined;
  const liveSecrets = () => (secrets ??= new Map(k.items(['-n', stack.namespace, 'get', 'secrets']).map((x: any) => [x.metadata.name as string, x])));
  const pods = () => new Map([...running()].filter(([key]) => key.startsWith('Pod/')).map(([, pod]) => [pod.metadata.name as string, pod]));
  passwordsInForce(k, stack, { pods, secrets: liveSecrets }, log);
  const applied = withSecretsHash(objects.filter((x) => x.kind !== 'Namespace' && !skipped.has(x)), liveSecrets);
  apply(applied, 'stackport');
  // What was left out for a missing API is still wanted: the prune must not delete an earlier copy.
  const pruned = o.noPrune ? [] : pruneStack(k, stack, objects, served, log);
  if (stateful.expansions.length > 0) reportResizes(k, stateful.expansions, log);
  return { namespace: stack.namespace, applied, pruned };
}

/**
 * The volume driver resizes an expanded claim in its own time (a CSI resizer, sometimes only at
 * the pod's next mount): say which claims it has not finished, rather than claim it did.
 */
function reportResizes(k: Kubectl, expansions: StatefulPlan['expansions'], log: (l: string) => void): void {
  for (const e of expansions) {
    for (const claim of e.claims) {
      const pvc = k.json(['-n', e.namespace, 'get', 'pvc', claim]);
      const capacity: string | undefined = pvc?.status?.capacity?.storage;
      const [now, want] = [bytes(capacity ?? ''), bytes(e.size)];
      if (now !== undefined && want !== undefined && now >= want) continue;
      log(
        `claim ${e.namespace}/${claim}: ${capacity ?? 'no capacity yet'} of ${e.size} so far; the volume driver of class ${pvc?.spec?.storageClassName ?? '(default)'} finishes the resize ` +
          `(kubectl -n ${e.namespace} describe pvc ${claim} shows its progress)`,
      );
    }
  }
}
