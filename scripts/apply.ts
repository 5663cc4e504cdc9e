/**
 * Applies one synthesized environment to the cluster kubectl points at, in the order a first deploy
 * needs:
 *
 *   npx tsx scripts/apply.ts [--env kind] [--spec stack.yaml] [--dist dist] [--context C] [--skip-missing]
 *
 * 1. the Namespace, then the Secrets the stack references (scripts/secrets.ts), so no pod starts
 *    before its Secrets exist;
 * 2. a check that the cluster serves every API the manifests use (cert-manager, Gateway API, the
 *    monitoring CRDs, Traefik's): when one is missing it stops with the add-on to install, before any
 *    workload is applied, unless --skip-missing applies everything else and lists what it left out;
 * 3. against the running stack (scripts/stateful-changes.ts): a PostgreSQL major version change is
 *    refused before anything is applied; a larger volume is carried out (claims expanded, the
 *    StatefulSet replaced around its running pods), a smaller one refused;
 * 4. one server-side apply, then deletes the run-once Jobs of earlier releases (labelled
 *    stackport.dev/release-job, named after a hash of their spec: an unchanged release keeps its
 *    finished Job and runs nothing).
 */
import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { SpecError } from '../model/errors';
import { loadSpecFile } from '../model/load';
import { resolveStack } from '../model/presets';
import { ENVIRONMENTS, type EnvironmentName, type StackSpec } from '../model/schema';
import { RELEASE_JOB } from '../charts/migration';
import { storeKeys, writeSecrets } from './secrets';
import { type Live, planStatefulChanges } from './stateful-changes';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

/** API groups the stack may use that a cluster does not have by default, and what provides them. */
const ADD_ONS: Record<string, string> = {
  'cert-manager.io': 'cert-manager (docs/local-clusters.md, step 2)',
  'gateway.networking.k8s.io': 'the Gateway API CRDs and an implementation (cloud-provider-kind on kind, Envoy Gateway in prod)',
  'monitoring.coreos.com': 'the prometheus-operator CRDs (kubectl apply --server-side -f crds/monitoring.coreos.com.yaml)',
  'traefik.io': "Traefik's CRDs (k3s ships them; elsewhere install Traefik v3)",
  'gateway.envoyproxy.io': 'Envoy Gateway',
  'external-secrets.io': 'External Secrets Operator (with the SecretStore the spec names)',
};

export class ApplyError extends Error {}

/** The objects of dist/<env>, in file order. */
export function readDist(dir: string): K8sObject[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.k8s.yaml')).sort();
  } catch {
    throw new ApplyError(`${dir} does not exist: run npm run synth (or stackport synth) first`);
  }
  const out: K8sObject[] = [];
  for (const f of files) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = doc.toJS() as K8sObject | null;
      if (o?.apiVersion && o.kind) out.push(o);
    }
  }
  if (out.length === 0) throw new ApplyError(`${dir} holds no Kubernetes objects: run npm run synth first`);
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
  readonly dist: string;
  readonly secretsFile: string;
  readonly context?: string;
  readonly skipMissing?: boolean;
  /** @default "kubectl" from PATH */
  readonly kubectl?: string;
  /** @default kubectl's own choice (KUBECONFIG, ~/.kube/config) */
  readonly kubeconfig?: string;
  readonly log?: (line: string) => void;
}

export function applyEnvironment(o: ApplyOptions): void {
  const log = o.log ?? console.log;
  const objects = readDist(join(o.dist, o.environment));
  const stack = resolveStack(o.spec, o.environment);
  const namespaces = objects.filter((x) => x.kind === 'Namespace');
  if (!namespaces.some((n) => n.metadata.name === stack.namespace)) {
    throw new ApplyError(`${join(o.dist, o.environment)} has no Namespace ${stack.namespace}: it was synthesized from another spec; synthesize this one first`);
  }
  const kubectl = (args: string[], input?: string): string => {
    const full = [...(o.kubeconfig ? ['--kubeconfig', o.kubeconfig] : []), ...(o.context ? ['--context', o.context] : []), ...args];
    const opts: ExecFileSyncOptions = { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] };
    try {
      return execFileSync(o.kubectl ?? 'kubectl', full, opts) as string;
    } catch (e) {
      const err = e as NodeJS.ErrnoException & { stderr?: string; status?: number };
      if (err.code === 'ENOENT') throw new ApplyError('kubectl not found on PATH: install kubectl 1.35 or newer');
      throw new ApplyError(`kubectl ${args.slice(0, 2).join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
    }
  };
  const getJson = (args: string[]): any => {
    const out = kubectl([...args, '-o', 'json', '--ignore-not-found']).trim();
    return out ? JSON.parse(out) : undefined;
  };
  const live: Live = {
    statefulSet: (ns, name) => getJson(['-n', ns, 'get', 'statefulset', name]),
    claims: (ns, sts, template) => (getJson(['-n', ns, 'get', 'pvc'])?.items ?? []).filter((c: any) => new RegExp(`^${template}-${sts}-\\d+$`).test(c.metadata.name)),
    storageClass: (name) => (name ? getJson(['get', 'storageclass', name]) : undefined),
  };
  const stateful = planStatefulChanges(objects, live);
  if (stateful.refusals.length > 0) {
    throw new ApplyError(`nothing was applied; the running stack cannot take this change:\n${stateful.refusals.map((r) => `  - ${r}`).join('\n')}`);
  }

  // kubectl refuses an empty apply ("no objects passed to apply"): a stack may need no Secret.
  // The objects go as one JSON List: kubectl reads YAML as YAML 1.1, where a value such as `on` or
  // `yes` written plain by a YAML 1.2 emitter turns into a boolean and the apply fails.
  const apply = (objs: object[], manager: string) => {
    if (objs.length > 0) log(kubectl(['apply', '--server-side', `--field-manager=${manager}`, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs })).trim());
  };

  apply(namespaces, 'stackport');
  const keys = storeKeys(o.spec, o.environment);
  if (keys) {
    log(`Secrets come from the secret store (ExternalSecrets in ${join(o.dist, o.environment)}); it must hold:\n${keys.map((k) => `  ${k}`).join('\n')}`);
  } else {
    const secrets = writeSecrets(o.spec, o.environment, o.secretsFile);
    for (const w of secrets.warnings) log(`warning: ${w}`);
    apply(secrets.objects, 'stackport-secrets');
    log(`created or kept ${secrets.objects.length} Secrets (values in ${o.secretsFile})`);
  }

  const served = new Set(kubectl(['api-versions']).split('\n').map((l) => l.trim()).filter(Boolean));
  const missing = missingApis(objects, served);
  if (missing.size > 0) {
    const lines = [...missing].map(([addOn, objs]) => `  - ${addOn}: needed by ${describe(objs)}`);
    if (!o.skipMissing) {
      throw new ApplyError(
        `the cluster lacks what ${objects.length - namespaces.length} objects need; nothing but the Namespace and Secrets was applied:\n${lines.join('\n')}\n` +
          'Install it and run again, or pass --skip-missing to apply everything else now.',
      );
    }
    log(`warning: left out (the cluster lacks their API):\n${lines.join('\n')}`);
  }
  const skipped = new Set([...missing.values()].flat());
  for (const e of stateful.expansions) {
    for (const claim of e.claims) {
      log(kubectl(['-n', e.namespace, 'patch', 'pvc', claim, '--type=merge', '-p', JSON.stringify({ spec: { resources: { requests: { storage: e.size } } } })]).trim());
    }
    // The template cannot change in place: the StatefulSet goes, its pods and claims stay, and the
    // apply below recreates it, adopting them.
    log(kubectl(['-n', e.namespace, 'delete', 'statefulset', e.statefulSet, '--cascade=orphan', '--wait=true']).trim());
    log(`volume ${e.template} of StatefulSet ${e.namespace}/${e.statefulSet}: ${e.from} -> ${e.size} (${e.claims.length} claim(s) expanded)`);
  }
  apply(objects.filter((x) => x.kind !== 'Namespace' && !skipped.has(x)), 'stackport');
  const current = new Set(objects.filter((x) => x.kind === 'Job').map((x) => `job.batch/${x.metadata.name}`));
  const earlier = kubectl(['-n', stack.namespace, 'get', 'jobs', '-l', RELEASE_JOB, '-o', 'name']).split('\n').map((l) => l.trim()).filter((l) => l && !current.has(l));
  if (earlier.length > 0) log(kubectl(['-n', stack.namespace, 'delete', ...earlier, '--ignore-not-found']).trim());
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { env: { type: 'string' }, spec: { type: 'string' }, dist: { type: 'string', default: 'dist' }, context: { type: 'string' }, 'skip-missing': { type: 'boolean' } },
  });
  const environment = (values.env ?? 'kind') as EnvironmentName;
  if (!ENVIRONMENTS.includes(environment)) throw new ApplyError(`--env ${values.env}: expected one of ${ENVIRONMENTS.join(', ')}`);
  const spec: StackSpec = values.spec ? loadSpecFile(values.spec, { onNote: (n) => console.error(`note: ${n}`) }) : require('../model/reference').referenceStack;
  applyEnvironment({ environment, spec, dist: values.dist!, secretsFile: `.secrets/${environment}.yaml`, context: values.context, skipMissing: values['skip-missing'] });
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    const known = e instanceof ApplyError || e instanceof SpecError;
    console.error(`error: ${(e as Error).message}${known ? '' : ' (unexpected: please report it with the command you ran)'}`);
    process.exitCode = 1;
  }
}
