/**
 * ops/apply.ts against a recording stand-in for kubectl: the order of a first deploy (Namespace,
 * Secrets, add-on check, workloads, prune) and what happens on a cluster that lacks an add-on.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../charts/synth';
import { defineStack } from '../model/load';
import { referenceStack } from '../model/reference';
import { applyEnvironment, ApplyError } from '../ops/apply';
import { sealSecrets } from '../ops/secrets';
import { controllerKeys, sealedStack } from './support/sealed';

let dir: string;
let kubectl: string;
const BUILT_IN = ['v1', 'apps/v1', 'batch/v1', 'autoscaling/v2', 'policy/v1', 'networking.k8s.io/v1', 'rbac.authorization.k8s.io/v1'];
const ADD_ONS = ['cert-manager.io/v1', 'gateway.networking.k8s.io/v1', 'monitoring.coreos.com/v1', 'traefik.io/v1alpha1'];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stackport-apply-'));
  synthesize(referenceStack, path.join(dir, 'dist'), ['kind', 'k3d']);
  // Records each call (argv, then the objects piped in) and answers api-versions from a file.
  kubectl = path.join(dir, 'kubectl');
  fs.writeFileSync(
    kubectl,
    [
      '#!/bin/sh',
      'n=$(ls "$REC" | wc -l)',
      'f="$REC/$(printf %03d "$n")"',
      'echo "$*" > "$f"',
      'case "$*" in *"apply"*"-f -"*) cat >> "$f" ;; esac',
      'case "$*" in *api-versions*) cat "$SERVED" ;; esac',
      // The running stack, when a test sets one: its postgres StatefulSet and claims.
      'case "$*" in *"get statefulsets,pods"*) [ -z "$LIVE" ] || cat "$LIVE/running.json" ;; *"get pvc data-"*) [ -z "$LIVE" ] || cat "$LIVE/claim.json" ;; *"get pvc"*) [ -z "$LIVE" ] || cat "$LIVE/pvc.json" ;; *"get storageclass"*) [ -z "$LIVE" ] || cat "$LIVE/sc.json" ;; esac',
      // What the prune lists: the stack's objects on the cluster (written by liveObjects).
      'case "$*" in *"--show-managed-fields"*) cat "$PRUNE_LIST" ;; esac',
      'case "$*" in *apply*) echo "applied" ;; esac',
    ].join('\n'),
    { mode: 0o755 },
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function currentJob(env: string): string {
  const text = fs.readFileSync(path.join(dir, 'dist', env, 'dataplatform.k8s.yaml'), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS()).find((o) => o?.kind === 'Job').metadata.name;
}

const applied = (manager = 'stackport') => [{ manager, operation: manager === 'stackport' ? 'Apply' : 'Update' }];
const labelled = (env = 'kind') => ({ 'app.kubernetes.io/part-of': 'dataplatform', 'app.kubernetes.io/managed-by': 'stackport', 'stackport.dev/environment': env });

/**
 * The stack's objects as the cluster lists them for the prune: the current release's Job and an
 * earlier one, a Deployment the spec no longer has, and objects the prune must leave alone (a Job
 * its CronJob started, one `stackport run` created, the same stack in another namespace, a
 * cluster-wide issuer).
 */
function liveObjects(env: string): string {
  const items = [
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: currentJob(env), namespace: 'dataplatform', labels: labelled(env), managedFields: applied() } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'migrate-0badc0de', namespace: 'dataplatform', labels: labelled(env), managedFields: applied() } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'old-api', namespace: 'dataplatform', labels: labelled(env), managedFields: applied() } },
    // Policies, routes and monitors carry no environment label; the namespace is the environment.
    { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'old-api', namespace: 'dataplatform', labels: { 'app.kubernetes.io/part-of': 'dataplatform', 'app.kubernetes.io/managed-by': 'stackport' }, managedFields: applied() } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'worker-29123', namespace: 'dataplatform', labels: labelled(env), managedFields: applied('kube-controller-manager'), ownerReferences: [{ kind: 'CronJob', name: 'worker' }] } },
    { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'worker-run-1', namespace: 'dataplatform', labels: labelled(env), managedFields: applied('kubectl-create') } },
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'old-api', namespace: 'dataplatform-staging', labels: labelled(env), managedFields: applied() } },
    { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'old-issuer', labels: labelled(env), managedFields: applied() } },
  ];
  const file = path.join(dir, `prune-${env}.json`);
  fs.writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  return file;
}

/** Runs apply with a fresh recording; returns each kubectl call: its arguments and the kinds it applied. */
function run(env: 'kind' | 'k3d', served: string[], opts: { skipMissing?: boolean; context?: string } = {}) {
  const rec = fs.mkdtempSync(path.join(dir, 'rec-'));
  fs.writeFileSync(path.join(dir, 'served'), served.join('\n') + '\n');
  process.env.REC = rec;
  process.env.SERVED = path.join(dir, 'served');
  process.env.PRUNE_LIST = liveObjects(env);
  const log: string[] = [];
  let error: Error | undefined;
  try {
    applyEnvironment({ environment: env, spec: referenceStack, dist: path.join(dir, 'dist'), secretsFile: path.join(dir, `secrets-${env}.yaml`), kubectl, log: (l) => log.push(l), ...opts });
  } catch (e) {
    error = e as Error;
  }
  const calls = fs
    .readdirSync(rec)
    .sort()
    .map((f) => {
      const [args, ...rest] = fs.readFileSync(path.join(rec, f), 'utf8').split('\n');
      const objects = parseAllDocuments(rest.join('\n'))
        .map((d) => d.toJS() as { kind?: string; items?: object[] } | null)
        .flatMap((o) => (o?.kind === 'List' ? (o.items ?? []) : o ? [o] : [])) as Array<Record<string, any>>;
      return { args, kinds: objects.map((o) => o.kind).filter(Boolean) as string[], objects, input: rest.join('\n') };
    });
  return { calls, log, error };
}

describe('ops/apply.ts', () => {
  it("applies the Namespace, then the Secrets, then checks add-ons, applies the rest and prunes what the output no longer has", () => {
    const { calls, log, error } = run('kind', [...BUILT_IN, ...ADD_ONS]);
    expect(error).toBeUndefined();
    const prunedKinds = calls[6].args.split(' ')[1].split(',');
    expect(calls.map((c) => c.args)).toEqual([
      // The running stack, in one read: nothing runs yet (a first deploy).
      '-n dataplatform get statefulsets,pods -o json --ignore-not-found',
      'apply --server-side --field-manager=stackport --force-conflicts -f -',
      'apply --server-side --field-manager=stackport-secrets -f -',
      'api-versions',
      // No server runs: no password to wait for; the clients' Secrets are hashed.
      '-n dataplatform get secrets -o json --ignore-not-found',
      'apply --server-side --field-manager=stackport --force-conflicts -f -',
      `get ${prunedKinds.join(',')} -A -l app.kubernetes.io/part-of=dataplatform,app.kubernetes.io/managed-by=stackport --show-managed-fields -o json --ignore-not-found`,
      // Only what stackport applied, that nothing owns, in this namespace, and that the output lacks.
      '-n dataplatform delete job.batch/migrate-0badc0de deployment.apps/old-api networkpolicy.networking.k8s.io/old-api --ignore-not-found --wait=false',
    ]);
    // Every kind the stack has and the cluster serves is looked at; never claims, Secrets or Namespaces.
    expect(prunedKinds).toEqual(expect.arrayContaining(['deployment.apps', 'job.batch', 'configmap', 'certificate.cert-manager.io', 'httproute.gateway.networking.k8s.io', 'servicemonitor.monitoring.coreos.com']));
    expect(prunedKinds.filter((k) => /^(persistentvolumeclaim|secret|namespace)$/.test(k))).toEqual([]);
    expect(prunedKinds).not.toContain('externalsecret.external-secrets.io'); // not served here
    expect(log.join('\n')).toContain('note: kept ClusterIssuer/old-issuer, cluster-wide and no longer in this stack\'s output');
    expect(calls[1].kinds).toEqual(['Namespace']);
    expect(new Set(calls[2].kinds)).toEqual(new Set(['Secret']));
    expect(calls[2].kinds.length).toBeGreaterThanOrEqual(4);
    expect(calls[5].kinds).toContain('StatefulSet');
    expect(calls[5].kinds).toContain('Certificate');
    expect(calls[5].kinds).not.toContain('Namespace');
  });

  it('on a cluster without cert-manager: creates the Secrets, applies no workload, and names the add-on and the objects', () => {
    const { calls, error } = run('kind', [...BUILT_IN, 'gateway.networking.k8s.io/v1', 'monitoring.coreos.com/v1']);
    expect(error).toBeInstanceOf(ApplyError);
    expect(error!.message).toMatch(/the cluster lacks what \d+ objects need; nothing but the Namespace and Secrets was applied/);
    expect(error!.message).toMatch(/- cert-manager \(stackport up installs it; docs\/local-clusters\.md has the manual step\): needed by .*Certificate\/dataplatform-tls/);
    expect(error!.message).toContain('pass --skip-missing');
    expect(calls.filter((c) => !c.args.includes(' get statefulsets,pods ')).map((c) => (c.args.startsWith('apply') ? c.kinds[0] : c.args))).toEqual(['Namespace', 'Secret', 'api-versions']);
  });

  it('with --skip-missing, applies everything the cluster can take and lists what it left out', () => {
    const { calls, log, error } = run('k3d', [...BUILT_IN, 'cert-manager.io/v1'], { skipMissing: true, context: 'k3d-dataplatform' });
    expect(error).toBeUndefined();
    expect(calls.every((c) => c.args.startsWith('--context k3d-dataplatform '))).toBe(true);
    const kinds = calls[calls.length - 3].kinds;
    expect(kinds).toContain('Deployment');
    expect(kinds).toContain('Certificate');
    expect(kinds).not.toContain('Middleware');
    expect(kinds).not.toContain('ServiceMonitor');
    // The prune looks only at kinds the cluster serves, so an earlier Middleware is not listed at all.
    expect(calls[calls.length - 2].args).not.toContain('middleware.traefik.io');
    expect(log.join('\n')).toContain('left out (the cluster lacks their API):');
    expect(log.join('\n')).toMatch(/ {2}- the prometheus-operator CRDs.*: needed by ServiceMonitor\/api, PrometheusRule\//);
    expect(log.join('\n')).toMatch(/Traefik's CRDs .*: needed by Middleware\//);
  });

  it('refuses a PostgreSQL major change against the running stack before applying anything', () => {
    const liveDir = fs.mkdtempSync(path.join(dir, 'live-'));
    const objects = parseAllDocuments(fs.readFileSync(path.join(dir, 'dist', 'kind', 'dataplatform.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    const running = structuredClone(objects.find((o) => o?.kind === 'StatefulSet' && o.metadata.name === 'postgres'));
    running.spec.template.spec.containers[0].image = 'postgres:15.8';
    fs.writeFileSync(path.join(liveDir, 'running.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [running] }));
    process.env.LIVE = liveDir;
    try {
      const { calls, error } = run('kind', [...BUILT_IN, ...ADD_ONS]);
      expect(error).toBeInstanceOf(ApplyError);
      expect(error!.message).toMatch(/^nothing was applied; the running stack cannot take this change:\n {2}- StatefulSet dataplatform\/postgres: its data directory was made by PostgreSQL 15/);
      expect(calls.filter((c) => c.args.startsWith('apply') || c.args.includes('delete') || c.args.includes('patch'))).toEqual([]);
    } finally {
      delete process.env.LIVE;
    }
  });

  it('grows a volume on a running stack: claims patched, the StatefulSet replaced around its pods, then the apply', () => {
    const liveDir = fs.mkdtempSync(path.join(dir, 'live-'));
    const objects = parseAllDocuments(fs.readFileSync(path.join(dir, 'dist', 'kind', 'dataplatform.k8s.yaml'), 'utf8')).map((d) => d.toJS());
    const running = structuredClone(objects.find((o) => o?.kind === 'StatefulSet' && o.metadata.name === 'postgres'));
    running.spec.volumeClaimTemplates[0].spec.resources.requests.storage = '1Gi';
    fs.writeFileSync(path.join(liveDir, 'running.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [running] }));
    fs.writeFileSync(path.join(liveDir, 'pvc.json'), JSON.stringify({ items: [{ metadata: { name: 'data-postgres-0' }, spec: { storageClassName: 'standard' } }, { metadata: { name: 'data-redis-0' }, spec: { storageClassName: 'standard' } }] }));
    fs.writeFileSync(path.join(liveDir, 'sc.json'), JSON.stringify({ metadata: { name: 'standard' }, allowVolumeExpansion: true }));
    // After the apply, the driver has not resized the claim yet.
    fs.writeFileSync(path.join(liveDir, 'claim.json'), JSON.stringify({ metadata: { name: 'data-postgres-0' }, spec: { storageClassName: 'standard' }, status: { capacity: { storage: '1Gi' } } }));
    process.env.LIVE = liveDir;
    try {
      const { calls, log, error } = run('kind', [...BUILT_IN, ...ADD_ONS]);
      expect(error).toBeUndefined();
      const steps = calls.map((c) => c.args).filter((a) => /patch|delete statefulset|^apply --server-side --field-manager=stackport --force-conflicts -f/.test(a));
      expect(steps).toEqual([
        'apply --server-side --field-manager=stackport --force-conflicts -f -',
        '-n dataplatform patch pvc data-postgres-0 --type=merge -p {"spec":{"resources":{"requests":{"storage":"2Gi"}}}}',
        '-n dataplatform delete statefulset postgres --cascade=orphan --wait=true',
        'apply --server-side --field-manager=stackport --force-conflicts -f -',
      ]);
      expect(log).toContain('volume data of StatefulSet dataplatform/postgres: 1Gi -> 2Gi (1 claim(s) asked to grow; the StatefulSet is recreated with its pods and claims kept)');
      expect(log).toContain(
        'claim dataplatform/data-postgres-0: 1Gi of 2Gi so far; the volume driver of class standard finishes the resize (kubectl -n dataplatform describe pvc data-postgres-0 shows its progress)',
      );
      // Resized already: nothing to say.
      fs.writeFileSync(path.join(liveDir, 'claim.json'), JSON.stringify({ metadata: { name: 'data-postgres-0' }, spec: { storageClassName: 'standard' }, status: { capacity: { storage: '2Gi' } } }));
      expect(run('kind', [...BUILT_IN, ...ADD_ONS]).log.join('\n')).not.toContain('so far; the volume driver');
    } finally {
      delete process.env.LIVE;
    }
  });

  it('applies a stack that needs no Secret without an empty apply (kubectl refuses one)', () => {
    const spec = defineStack({ name: 'plain', components: { web: { kind: 'web', image: 'nginx:1.27', port: 8080, healthPath: '/' } } }, 'plain.ts');
    synthesize(spec, path.join(dir, 'plain-dist'), ['kind']);
    const rec = fs.mkdtempSync(path.join(dir, 'rec-'));
    process.env.REC = rec;
    fs.writeFileSync(path.join(dir, 'served'), [...BUILT_IN, ...ADD_ONS].join('\n') + '\n');
    process.env.SERVED = path.join(dir, 'served');
    const log: string[] = [];
    applyEnvironment({ environment: 'kind', spec, dist: path.join(dir, 'plain-dist'), secretsFile: path.join(dir, 'plain-secrets.yaml'), kubectl, log: (l) => log.push(l) });
    const calls = fs.readdirSync(rec).sort().map((f) => fs.readFileSync(path.join(rec, f), 'utf8').split('\n')[0]).slice(0, 4);
    expect(calls.slice(0, 3)).toEqual(['apply --server-side --field-manager=stackport --force-conflicts -f -', 'api-versions', 'apply --server-side --field-manager=stackport --force-conflicts -f -']);
    expect(calls[3]).toMatch(/^get .* -l app.kubernetes.io\/part-of=plain,/);
    expect(log).toContain('created or kept 0 Secrets (values in ' + path.join(dir, 'plain-secrets.yaml') + ')');
  });

  it('hands kubectl values that YAML 1.1 would read as booleans or numbers (on, yes, 1_000, 1:20) as the strings they are', () => {
    const tricky = { A: 'on', B: 'yes', C: 'off', D: 'N', E: '1_000', F: '1:20', G: '0b101', H: '.inf', I: '~' };
    const spec = defineStack({ name: 'tricky', components: { web: { kind: 'web', image: 'nginx:1.27', port: 8080, healthPath: '/', env: tricky } } }, 'tricky.ts');
    synthesize(spec, path.join(dir, 'tricky-dist'), ['kind']);
    const rec = fs.mkdtempSync(path.join(dir, 'rec-'));
    process.env.REC = rec;
    fs.writeFileSync(path.join(dir, 'served'), [...BUILT_IN, ...ADD_ONS].join('\n') + '\n');
    process.env.SERVED = path.join(dir, 'served');
    applyEnvironment({ environment: 'kind', spec, dist: path.join(dir, 'tricky-dist'), secretsFile: path.join(dir, 'tricky-secrets.yaml'), kubectl, log: () => {} });
    const input = fs.readFileSync(path.join(rec, fs.readdirSync(rec).sort()[2]), 'utf8').split('\n').slice(1).join('\n');
    // kubectl's reader (sigs.k8s.io/yaml) follows YAML 1.1.
    const list = parse(input, { version: '1.1' });
    const container = list.items.find((o: any) => o.kind === 'Deployment').spec.template.spec.containers[0];
    const env = Object.fromEntries(container.env.filter((e: any) => e.name in tricky).map((e: any) => [e.name, e.value]));
    expect(env).toEqual(tricky);
  });

  it('with sealed-secrets: creates no Secret, says where they come from, and names the controller when its API is missing', () => {
    const project = fs.mkdtempSync(path.join(dir, 'sealed-'));
    const specFile = path.join(project, 'stack.yaml');
    const spec = sealedStack();
    sealSecrets(spec, 'prod', controllerKeys(2048).cert, { specFile, env: { FRED_API_KEY: 'f', FMP_API_KEY: 'm' } });
    synthesize(spec, path.join(project, 'dist'), ['prod'], specFile);
    fs.writeFileSync(path.join(dir, 'empty.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    process.env.PRUNE_LIST = path.join(dir, 'empty.json');
    const secretsFile = path.join(project, '.secrets', 'prod.yaml');
    const attempt = (served: string[]) => {
      const rec = fs.mkdtempSync(path.join(dir, 'rec-'));
      process.env.REC = rec;
      fs.writeFileSync(path.join(dir, 'served'), served.join('\n') + '\n');
      process.env.SERVED = path.join(dir, 'served');
      const log: string[] = [];
      let error: Error | undefined;
      try {
        applyEnvironment({ environment: 'prod', spec, specFile, dist: path.join(project, 'dist'), secretsFile, kubectl, log: (l) => log.push(l) });
      } catch (e) {
        error = e as Error;
      }
      const calls = fs.readdirSync(rec).sort().map((f) => fs.readFileSync(path.join(rec, f), 'utf8'));
      return { log, error, calls };
    };
    const without = attempt([...BUILT_IN, ...ADD_ONS, 'gateway.envoyproxy.io/v1alpha1']);
    expect(without.error).toBeInstanceOf(ApplyError);
    expect(without.error!.message).toMatch(/ {2}- the Sealed Secrets controller \(its install brings the CRD; .*\): needed by SealedSecret\/external-apis, SealedSecret\/postgres-superuser, /);
    expect(without.log.join('\n')).toContain(`Secrets come from the SealedSecrets in ${path.join(project, 'dist', 'prod')} (sealed file ${path.join(project, 'sealed-secrets', 'prod.yaml')}); the Sealed Secrets controller kube-system/sealed-secrets-controller decrypts them`);
    const withController = attempt([...BUILT_IN, ...ADD_ONS, 'gateway.envoyproxy.io/v1alpha1', 'bitnami.com/v1alpha1']);
    expect(withController.error).toBeUndefined();
    for (const c of [...without.calls, ...withController.calls]) expect(c).not.toContain('stackport-secrets');
    expect(withController.calls.some((c) => c.startsWith('apply --server-side --field-manager=stackport ') && c.includes('"kind":"SealedSecret"'))).toBe(true);
    expect(withController.calls.find((c) => c.includes('--show-managed-fields'))).toContain('sealedsecret.bitnami.com');
    expect(fs.existsSync(secretsFile)).toBe(false);
  });

  it('says what to do when dist/<env> is missing or kubectl is not installed', () => {
    expect(() => applyEnvironment({ environment: 'prod', spec: referenceStack, dist: path.join(dir, 'dist'), secretsFile: path.join(dir, 's.yaml'), kubectl })).toThrow(
      /dist\/prod does not exist: run stackport synth/,
    );
    expect(() => applyEnvironment({ environment: 'kind', spec: referenceStack, dist: path.join(dir, 'dist'), secretsFile: path.join(dir, 's.yaml'), kubectl: path.join(dir, 'no-kubectl') })).toThrow(
      'kubectl not found on PATH',
    );
  });
});
