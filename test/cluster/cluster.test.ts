/**
 * Applies dist/<env> to a real Kubernetes API server and checks the stack comes up.
 *
 * By default each environment gets a fresh local control plane (scripts/cluster/up.sh: etcd,
 * kube-apiserver, kube-controller-manager, kube-scheduler on 127.0.0.1, and kwok standing in for
 * the kubelets of fake Nodes sized like the environment). With STACKPORT_KUBECONFIG=/path the same
 * checks run against an existing cluster instead (see test/cluster/README.md).
 *
 * Run with `npm run test:cluster`. Timings go to .cache/cluster-report.json.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { toYaml } from '../../charts/yaml';
import { synthesize } from '../../charts/synth';
import { withImages } from '../../model/images';
import { referenceStack } from '../../model/reference';
import type { EnvironmentName } from '../../model/schema';
import {
  EXTERNAL_KUBECONFIG,
  FatalWait,
  Kube,
  type LocalCluster,
  ROOT,
  WAIT_SECONDS,
  condition,
  diagnostics,
  externalKube,
  installCrds,
  run,
  startLocalCluster,
  waitUntil,
} from './kube';

const LOCAL = !EXTERNAL_KUBECONFIG;
const ALL_ENVS = ['kind', 'k3d', 'prod'];
const ENVS = (process.env.STACKPORT_ENVS ?? (LOCAL ? ALL_ENVS.join(',') : ''))
  .split(',')
  .map((e) => e.trim())
  .filter(Boolean);
if (ENVS.length === 0) {
  throw new Error('STACKPORT_KUBECONFIG is set: also set STACKPORT_ENVS to the one environment this cluster is (kind, k3d or prod)');
}
for (const e of ENVS) if (!ALL_ENVS.includes(e)) throw new Error(`STACKPORT_ENVS: unknown environment ${e}`);

const REPORT_FILE = join(ROOT, '.cache/cluster-report.json');
const STEP_MS = (WAIT_SECONDS + 60) * 1000;
const fileStart = Date.now();
const report: { generatedAt?: string; mode: string; server?: unknown; wallSeconds?: number; envs: Record<string, any> } = {
  mode: LOCAL ? 'local control plane (scripts/cluster/up.sh + kwok)' : `existing cluster (${EXTERNAL_KUBECONFIG})`,
  envs: {},
};

const round = (s: number) => Math.round(s * 100) / 100;
const since = (t: number) => round((Date.now() - t) / 1000);

/** The objects of the YAML files in `dir` (dist folders: only the manifests, not kustomization.yaml). */
function readDocs(dir: string, suffix = '.k8s.yaml'): any[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .flatMap((f) => parseAllDocuments(readFileSync(join(dir, f), 'utf8')).map((d) => d.toJS()))
    .filter((o) => o && typeof o === 'object');
}

/** Expected sizes of the simulated nodes (scripts/cluster/up.sh). */
const NODE_LAYOUT: Record<string, { count: number; cpu: string; memory: string; zones: string[] }> = {
  kind: { count: 1, cpu: '4', memory: '8Gi', zones: [] },
  k3d: { count: 1, cpu: '4', memory: '8Gi', zones: [] },
  prod: { count: 3, cpu: '8', memory: '32Gi', zones: ['zone-a', 'zone-b', 'zone-c'] },
};

for (const env of ENVS) {
  describe.sequential(`cluster: ${env}`, () => {
    const dist = join(ROOT, 'dist', env);
    const r: Record<string, any> = (report.envs[env] = {});
    let kube: Kube;
    let local: LocalCluster | undefined;
    let cleanupExternal = () => {};
    let scratch = '';
    let docs: any[] = [];
    let ns = '';
    let applyStart = 0;

    const diag = async () => diagnostics(kube, ns, local ? `----- control plane logs\n${local.logTails(12)}` : '');
    const named = (kind: string) => docs.filter((d) => d.kind === kind);

    /** What a GitOps tool does: plain server-side `kubectl apply -k dist/<env>`, no script and no deletes. */
    const applyStack = async (dir = dist) =>
      kube.kubectl(['apply', '--server-side', '--field-manager=stackport', '--validate=strict', '--warnings-as-errors', '-k', dir], {
        timeoutMs: 120_000,
      });
    const expectCleanApply = (res: { code: number; stdout: string; stderr: string }, what: string) => {
      const problems = res.code !== 0 || /warning/i.test(res.stderr);
      if (problems) throw new Error(`${what}: kubectl apply exited ${res.code}; the API server said:\n${res.stderr}\n--- stdout\n${res.stdout}`);
    };

    /** What is not ready yet: Deployments, StatefulSets, PVCs, the release Jobs. */
    const stackNotReady = async (): Promise<string[]> => {
      const items = await kube.items(['-n', ns, 'get', 'deployments.apps,statefulsets.apps,persistentvolumeclaims,jobs.batch,horizontalpodautoscalers.autoscaling']);
      const live = (kind: string, name: string) => items.find((o) => o.kind === kind && o.metadata.name === name);
      const missing: string[] = [];
      const minReplicas = new Map<string, number>();
      for (const h of items.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
        if (h.spec.scaleTargetRef?.kind === 'Deployment') minReplicas.set(h.spec.scaleTargetRef.name, h.spec.minReplicas ?? 1);
      }
      for (const d of named('Deployment')) {
        const o = live('Deployment', d.metadata.name);
        if (!o) {
          missing.push(`Deployment ${d.metadata.name}: does not exist`);
          continue;
        }
        const s = o.status ?? {};
        const want = o.spec.replicas ?? 1;
        const min = minReplicas.get(d.metadata.name) ?? 0;
        if (want < min) missing.push(`Deployment ${d.metadata.name}: ${want} replicas, HPA minimum ${min} not applied yet`);
        if ((s.observedGeneration ?? 0) < o.metadata.generation) missing.push(`Deployment ${d.metadata.name}: generation not observed`);
        if (condition(o, 'Available') !== 'True') missing.push(`Deployment ${d.metadata.name}: not Available`);
        if ((s.readyReplicas ?? 0) !== want || (s.updatedReplicas ?? 0) !== want || (s.replicas ?? 0) !== want) {
          missing.push(`Deployment ${d.metadata.name}: ready ${s.readyReplicas ?? 0}, updated ${s.updatedReplicas ?? 0}, total ${s.replicas ?? 0} of ${want}`);
        }
      }
      for (const d of named('StatefulSet')) {
        const o = live('StatefulSet', d.metadata.name);
        if (!o) {
          missing.push(`StatefulSet ${d.metadata.name}: does not exist`);
          continue;
        }
        const s = o.status ?? {};
        const want = o.spec.replicas ?? 1;
        if ((s.observedGeneration ?? 0) < o.metadata.generation) missing.push(`StatefulSet ${d.metadata.name}: generation not observed`);
        if ((s.readyReplicas ?? 0) !== want) missing.push(`StatefulSet ${d.metadata.name}: readyReplicas ${s.readyReplicas ?? 0} of ${want}`);
      }
      const claims = [
        ...named('PersistentVolumeClaim').map((p) => p.metadata.name),
        ...named('StatefulSet').flatMap((s) =>
          (s.spec.volumeClaimTemplates ?? []).flatMap((t: any) =>
            Array.from({ length: s.spec.replicas ?? 1 }, (_, i) => `${t.metadata.name}-${s.metadata.name}-${i}`),
          ),
        ),
      ];
      for (const c of claims) {
        const o = live('PersistentVolumeClaim', c);
        if (o?.status?.phase !== 'Bound') missing.push(`PersistentVolumeClaim ${c}: ${o ? o.status?.phase : 'does not exist'}`);
      }
      for (const j of named('Job').filter((j) => j.metadata.labels?.['stackport.dev/release-job'])) {
        const o = live('Job', j.metadata.name);
        if (o && condition(o, 'Failed') === 'True') throw new FatalWait(`Job ${j.metadata.name} failed: ${JSON.stringify(o.status)}`);
        if (!o || condition(o, 'Complete') !== 'True') missing.push(`Job ${j.metadata.name}: ${o ? 'not Complete' : 'does not exist'}`);
      }
      return missing;
    };

    const waitJobComplete = (name: string) =>
      waitUntil(
        `Job ${name} completes`,
        async () => {
          const o = await kube.json(['-n', ns, 'get', 'job', name]);
          if (condition(o, 'Failed') === 'True') throw new FatalWait(`Job ${name} failed: ${JSON.stringify(o.status)}`);
          return condition(o, 'Complete') === 'True' ? [] : [`Job ${name}: ${JSON.stringify(o.status ?? {})}`];
        },
        diag,
      );

    beforeAll(async () => {
      docs = readDocs(dist);
      ns = docs.find((d) => d.kind === 'Namespace')?.metadata?.name;
      if (!ns) throw new Error(`no Namespace in ${dist}`);
      scratch = mkdtempSync(join(tmpdir(), `stackport-cluster-test-${env}-`));
      if (LOCAL) {
        const t = Date.now();
        local = await startLocalCluster(env);
        kube = local.kube;
        r.controlPlaneStartSeconds = since(t);
        r.controlPlaneTimings = local.info.timings;
        console.log(`[${env}] control plane up in ${r.controlPlaneStartSeconds}s at ${local.info.server}\n${local.startLog.trimEnd()}`);
      } else {
        const ext = externalKube(EXTERNAL_KUBECONFIG!);
        kube = ext.kube;
        cleanupExternal = ext.cleanup;
      }
      const version = await kube.json(['version']);
      report.server = version.serverVersion?.gitVersion;
    }, 300_000);

    afterAll(async () => {
      if (local) {
        const keep = !!process.env.STACKPORT_KEEP_CLUSTER;
        await local.stop(keep);
        if (keep) console.log(`[${env}] control plane stopped; logs kept in ${local.info.stateDir}`);
      }
      cleanupExternal();
      if (scratch) rmSync(scratch, { recursive: true, force: true });
    }, 60_000);

    it('has nodes, CRDs, namespaces and the Secrets the stack references', async () => {
      // Nodes: simulated ones sized like the environment (local), or whatever the cluster has.
      const nodes = await kube.items(['get', 'nodes']);
      r.nodes = nodes.map((n) => ({
        name: n.metadata.name,
        zone: n.metadata.labels?.['topology.kubernetes.io/zone'],
        cpu: n.status?.allocatable?.cpu,
        memory: n.status?.allocatable?.memory,
      }));
      expect(nodes.length).toBeGreaterThan(0);
      if (LOCAL) {
        const layout = NODE_LAYOUT[env];
        expect(nodes).toHaveLength(layout.count);
        for (const n of nodes) {
          expect(n.status.allocatable).toMatchObject({ cpu: layout.cpu, memory: layout.memory, pods: '110' });
          expect(n.metadata.labels['kubernetes.io/hostname']).toBe(n.metadata.name);
          expect(n.spec.taints ?? []).toEqual([]);
        }
        expect(r.nodes.map((n: any) => n.zone).filter(Boolean).sort()).toEqual(layout.zones);
      }

      // CRDs from crds/ that the cluster lacks (all of them on a fresh control plane; on a real
      // cluster the Helm charts' own CRDs stay untouched).
      const crds = await installCrds(kube, readDocs(join(ROOT, 'crds'), '.yaml'));
      r.crdsInstalled = crds.installed;
      if (crds.warnings) r.crdWarnings = crds.warnings;

      // cert-manager's namespace holds the local CA Certificate (kind, k3d).
      for (const extra of new Set(docs.map((d) => d.metadata?.namespace).filter((n: string | undefined) => n && n !== ns))) {
        if ((await kube.kubectl(['get', 'namespace', extra])).code !== 0) await kube.ok(['create', 'namespace', extra]);
      }

      // The stack's Namespace exactly as synthesized (same field manager as the full apply), then the Secrets.
      const nsDoc = docs.find((d) => d.kind === 'Namespace');
      const nsRes = await kube.kubectl(['apply', '--server-side', '--field-manager=stackport', '--validate=strict', '--warnings-as-errors', '-f', '-'], {
        input: toYaml([nsDoc]),
      });
      expectCleanApply(nsRes, `Namespace ${ns}`);
      const secretsFile = LOCAL ? join(scratch, `secrets-${env}.yaml`) : join(ROOT, '.secrets', `${env}.yaml`);
      const secretEnv = { ...process.env };
      for (const k of ['FRED_API_KEY', 'FMP_API_KEY']) secretEnv[k] ||= `cluster-test-dummy-${k.toLowerCase()}`;
      const gen = await run(join(ROOT, 'node_modules/.bin/tsx'), ['ops/secrets.ts', '--env', env, '--out', secretsFile], { env: secretEnv });
      if (gen.code !== 0) throw new Error(`ops/secrets.ts --env ${env} failed:\n${gen.stderr}${gen.stdout}`);
      await kube.ok(['apply', '--server-side', '--field-manager=stackport-secrets', '-f', secretsFile]);
    }, STEP_MS);

    it(`server-side applies dist/${env} with strict validation and no warnings`, async () => {
      applyStart = Date.now();
      const res = await applyStack();
      r.applySeconds = since(applyStart);
      r.firstApply = { exitCode: res.code, stderr: res.stderr.trim() };
      console.log(`[${env}] kubectl apply (${r.applySeconds}s):\n${res.stdout.trimEnd()}${res.stderr ? `\n${res.stderr.trimEnd()}` : ''}`);
      expectCleanApply(res, `dist/${env}`);
      const applied = res.stdout.trim().split('\n').filter(Boolean);
      expect(applied).toHaveLength(docs.length);
    }, STEP_MS);

    it('becomes ready: Deployments Available, StatefulSets ready, PVCs Bound, migration Job Complete', async () => {
      expect(applyStart, 'apply did not run').toBeGreaterThan(0);
      await waitUntil(`dist/${env} ready`, stackNotReady, diag);
      r.applyToReadySeconds = since(applyStart);
      const pods = await kube.items(['-n', ns, 'get', 'pods']);
      const perNode: Record<string, string[]> = {};
      for (const p of pods.filter((p) => p.status?.phase === 'Running')) (perNode[p.spec.nodeName] ??= []).push(p.metadata.name);
      r.podsPerNode = perNode;
      console.log(`[${env}] apply-to-ready ${r.applyToReadySeconds}s; pods per node: ${JSON.stringify(perNode)}`);

      // Spread: a Deployment that asks to spread over zones (or hosts) has its replicas in as many
      // zones (hosts) as it can, on the nodes the scheduler actually had.
      const nodes = await kube.items(['get', 'nodes']);
      const nodeLabels = new Map(nodes.map((n) => [n.metadata.name, n.metadata.labels ?? {}]));
      const problems: string[] = [];
      for (const d of named('Deployment')) {
        const live = await kube.json(['-n', ns, 'get', 'deployment', d.metadata.name]);
        const selector = Object.entries(live.spec.selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
        const mine = pods.filter((p) => p.metadata.labels && Object.entries(live.spec.selector.matchLabels ?? {}).every(([k, v]) => p.metadata.labels[k] === v) && p.status?.phase === 'Running');
        for (const key of (d.spec.template.spec.topologySpreadConstraints ?? []).map((c: any) => c.topologyKey)) {
          const domains = new Set(nodes.map((n) => n.metadata.labels?.[key]).filter(Boolean));
          const used = new Set(mine.map((p) => nodeLabels.get(p.spec.nodeName)?.[key]));
          const want = Math.min(mine.length, domains.size);
          if (used.size < want) problems.push(`Deployment ${d.metadata.name} (${selector}): ${mine.length} pods in ${used.size} ${key} domain(s), ${domains.size} available`);
        }
      }
      expect(problems).toEqual([]);
    }, STEP_MS);

    it('has every ConfigMap, Secret (and key), PVC and ServiceAccount that a pod template references', async () => {
      // kwok starts pods without mounting anything, so check the references a kubelet would resolve.
      const [configMaps, secrets, claims, accounts] = await Promise.all(
        ['configmaps', 'secrets', 'persistentvolumeclaims', 'serviceaccounts'].map(async (k) => new Map((await kube.items(['-n', ns, 'get', k])).map((o) => [o.metadata.name, o]))),
      );
      const keysOf = (o: any) => new Set([...Object.keys(o?.data ?? {}), ...Object.keys(o?.binaryData ?? {})]);
      const problems: string[] = [];
      let checked = 0;
      const ref = (where: string, kind: 'ConfigMap' | 'Secret', name: string, keys: string[], optional?: boolean) => {
        checked++;
        const o = (kind === 'ConfigMap' ? configMaps : secrets).get(name);
        if (!o) {
          if (!optional) problems.push(`${where}: ${kind} ${name} does not exist`);
          return;
        }
        for (const k of keys) if (!keysOf(o).has(k)) problems.push(`${where}: ${kind} ${name} has no key ${k}`);
      };
      const templates = docs.flatMap((d) => {
        if (['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(d.kind)) return [{ where: `${d.kind} ${d.metadata.name}`, spec: d.spec.template.spec }];
        if (d.kind === 'CronJob') return [{ where: `CronJob ${d.metadata.name}`, spec: d.spec.jobTemplate.spec.template.spec }];
        return [];
      });
      expect(templates.length).toBeGreaterThan(0);
      for (const { where, spec } of templates) {
        if (spec.serviceAccountName && !accounts.has(spec.serviceAccountName)) problems.push(`${where}: ServiceAccount ${spec.serviceAccountName} does not exist`);
        for (const v of spec.volumes ?? []) {
          const w = `${where} volume ${v.name}`;
          if (v.configMap) ref(w, 'ConfigMap', v.configMap.name, (v.configMap.items ?? []).map((i: any) => i.key), v.configMap.optional);
          if (v.secret) ref(w, 'Secret', v.secret.secretName, (v.secret.items ?? []).map((i: any) => i.key), v.secret.optional);
          for (const src of v.projected?.sources ?? []) {
            if (src.configMap) ref(w, 'ConfigMap', src.configMap.name, (src.configMap.items ?? []).map((i: any) => i.key), src.configMap.optional);
            if (src.secret) ref(w, 'Secret', src.secret.name, (src.secret.items ?? []).map((i: any) => i.key), src.secret.optional);
          }
          if (v.persistentVolumeClaim) {
            checked++;
            if (!claims.has(v.persistentVolumeClaim.claimName)) problems.push(`${w}: PersistentVolumeClaim ${v.persistentVolumeClaim.claimName} does not exist`);
          }
        }
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          const w = `${where} container ${c.name}`;
          for (const e of c.env ?? []) {
            const cm = e.valueFrom?.configMapKeyRef;
            const sk = e.valueFrom?.secretKeyRef;
            if (cm) ref(`${w} env ${e.name}`, 'ConfigMap', cm.name, [cm.key], cm.optional);
            if (sk) ref(`${w} env ${e.name}`, 'Secret', sk.name, [sk.key], sk.optional);
          }
          for (const f of c.envFrom ?? []) {
            if (f.configMapRef) ref(`${w} envFrom`, 'ConfigMap', f.configMapRef.name, [], f.configMapRef.optional);
            if (f.secretRef) ref(`${w} envFrom`, 'Secret', f.secretRef.name, [], f.secretRef.optional);
          }
        }
      }
      r.referencesChecked = checked;
      expect(problems).toEqual([]);
      expect(checked).toBeGreaterThan(0);
    }, STEP_MS);

    it('enforces Pod Security "restricted" in the namespace', async () => {
      await waitUntil(`ServiceAccount ${ns}/default exists`, async () => ((await kube.kubectl(['-n', ns, 'get', 'serviceaccount', 'default'])).code === 0 ? [] : ['not yet']), diag, 60);
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'stackport-privileged-probe', namespace: ns },
        spec: { containers: [{ name: 'probe', image: 'busybox:1.36', securityContext: { privileged: true } }] },
      };
      const res = await kube.kubectl(['create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(pod) });
      r.podSecurityRejection = res.stderr.trim();
      expect(res.code, `a privileged pod was admitted:\n${res.stdout}`).not.toBe(0);
      expect(res.stderr).toMatch(/violates PodSecurity "restricted/);
      expect(res.stderr).toMatch(/privileged/);
    }, STEP_MS);

    it('runs the worker CronJob (and every other CronJob) as a Job to completion', async () => {
      const crons = named('CronJob');
      expect(crons.map((c) => c.metadata.name)).toContain('worker');
      r.cronJobRuns = {};
      for (const cron of crons) {
        const name = `${cron.metadata.name}-cluster-test-${Date.now()}`.slice(0, 63);
        await kube.ok(['-n', ns, 'create', 'job', `--from=cronjob/${cron.metadata.name}`, name]);
        const seconds = round(await waitJobComplete(name));
        r.cronJobRuns[cron.metadata.name] = seconds;
        if (cron.metadata.name === 'worker') r.workerJobSeconds = seconds;
        const job = await kube.json(['-n', ns, 'get', 'job', name]);
        expect(job.spec.template.spec.containers.map((c: any) => c.name)).toEqual(cron.spec.jobTemplate.spec.template.spec.containers.map((c: any) => c.name));
      }
    }, STEP_MS * 2);

    it('keeps StatefulSet claims when the StatefulSets are deleted, and the re-applied pods use them again', async () => {
      const sets = named('StatefulSet');
      expect(sets.map((s) => s.metadata.name).sort()).toEqual(expect.arrayContaining(['postgres', 'redis']));
      const claimsOf = (s: any) =>
        (s.spec.volumeClaimTemplates ?? []).flatMap((t: any) =>
          Array.from({ length: s.spec.replicas ?? 1 }, (_, i) => ({ claim: `${t.metadata.name}-${s.metadata.name}-${i}`, pod: `${s.metadata.name}-${i}`, volume: t.metadata.name })),
        );
      const expected = sets.flatMap(claimsOf);
      expect(expected.map((c) => c.claim)).toContain('data-postgres-0');
      const before = new Map<string, any>();
      for (const c of expected) before.set(c.claim, await kube.json(['-n', ns, 'get', 'pvc', c.claim]));
      for (const s of sets) {
        const live = await kube.json(['-n', ns, 'get', 'statefulset', s.metadata.name]);
        expect(live.spec.persistentVolumeClaimRetentionPolicy, `StatefulSet ${s.metadata.name}`).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
      }

      await kube.ok(['-n', ns, 'delete', 'statefulset', ...sets.map((s) => s.metadata.name), '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
      await waitUntil(
        'StatefulSet pods are gone',
        async () => {
          const pods = await kube.items(['-n', ns, 'get', 'pods']);
          const left = expected.map((c) => c.pod).filter((p) => pods.some((o) => o.metadata.name === p));
          return left.map((p) => `pod ${p} still exists`);
        },
        diag,
      );
      for (const c of expected) {
        const pvc = await kube.json(['-n', ns, 'get', 'pvc', c.claim]);
        expect(pvc.metadata.uid, `${c.claim} was re-created`).toBe(before.get(c.claim).metadata.uid);
        expect(pvc.metadata.deletionTimestamp, `${c.claim} is being deleted`).toBeUndefined();
        expect(pvc.status.phase).toBe('Bound');
        expect((pvc.metadata.ownerReferences ?? []).filter((o: any) => o.kind === 'StatefulSet')).toEqual([]);
      }

      const t = Date.now();
      const res = await applyStack();
      expectCleanApply(res, `re-apply of dist/${env}`);
      await waitUntil(`dist/${env} ready again after re-apply`, stackNotReady, diag);
      r.reapplyToReadySeconds = since(t);
      for (const c of expected) {
        const pod = await kube.json(['-n', ns, 'get', 'pod', c.pod]);
        const vol = pod.spec.volumes.find((v: any) => v.name === c.volume);
        expect(vol?.persistentVolumeClaim?.claimName, `pod ${c.pod} volume ${c.volume}`).toBe(c.claim);
        const pvc = await kube.json(['-n', ns, 'get', 'pvc', c.claim]);
        expect(pvc.metadata.uid).toBe(before.get(c.claim).metadata.uid);
        expect(pvc.spec.volumeName).toBe(before.get(c.claim).spec.volumeName);
      }
    }, STEP_MS * 2);

    it('takes a new release with plain kubectl apply -k: a new migration Job runs, no immutable field; the same release again runs nothing', async () => {
      const jobs = async () => (await kube.items(['-n', ns, 'get', 'jobs.batch', '-l', 'stackport.dev/release-job'])).map((j) => `${j.metadata.name}/${j.metadata.uid}`).sort();
      const before = await jobs();
      const released = withImages(referenceStack, ['api=ghcr.io/acme/dataplatform-api:1.4.3', 'migrate=ghcr.io/acme/dataplatform-api:1.4.3']);
      const out = join(scratch, 'release');
      synthesize(released, out, [env as EnvironmentName]);
      const newJob = readDocs(join(out, env)).find((d) => d.kind === 'Job').metadata.name;
      expect(before.some((j) => j.startsWith(`${newJob}/`))).toBe(false);

      const res = await applyStack(join(out, env));
      expectCleanApply(res, `release 1.4.3 of dist/${env}`);
      await waitJobComplete(newJob);
      const afterRelease = await jobs();
      expect(afterRelease).toEqual([...before, ...afterRelease.filter((j) => j.startsWith(`${newJob}/`))].sort());

      const again = await applyStack(join(out, env));
      expectCleanApply(again, `the same release again`);
      expect(await jobs(), 'an unchanged release re-created or added a Job').toEqual(afterRelease);
      const pods = await kube.items(['-n', ns, 'get', 'pods', '-l', 'app.kubernetes.io/name=migrate']);
      r.releaseJobs = { before: before.length, after: afterRelease.length, migratePods: pods.length };

      // Back to the synthesized release for the checks that follow.
      expectCleanApply(await applyStack(), `dist/${env} again`);
      await waitUntil(`dist/${env} ready after the release round trip`, stackNotReady, diag);
    }, STEP_MS * 2);

    it('gives every Service with a selector ready endpoints on every port', async () => {
      const services = (await kube.items(['-n', ns, 'get', 'services'])).filter((s) => Object.keys(s.spec.selector ?? {}).length > 0);
      expect(services.map((s) => s.metadata.name).sort()).toEqual(
        named('Service')
          .filter((s) => Object.keys(s.spec.selector ?? {}).length > 0)
          .map((s) => s.metadata.name)
          .sort(),
      );
      await waitUntil(
        'every Service has ready endpoints',
        async () => {
          const slices = await kube.items(['-n', ns, 'get', 'endpointslices.discovery.k8s.io']);
          const missing: string[] = [];
          for (const svc of services) {
            const mine = slices.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === svc.metadata.name);
            const ready = (s: any) => (s.endpoints ?? []).filter((e: any) => e.conditions?.ready && (e.addresses ?? []).length > 0);
            if (!mine.some((s) => ready(s).length > 0)) missing.push(`Service ${svc.metadata.name}: no ready endpoint`);
            for (const port of svc.spec.ports) {
              const served = mine.some((s) => ready(s).length > 0 && (s.ports ?? []).some((p: any) => (p.name ?? '') === (port.name ?? '') && typeof p.port === 'number'));
              if (!served) missing.push(`Service ${svc.metadata.name} port ${port.name ?? port.port}: targetPort ${port.targetPort} resolves on no ready endpoint`);
            }
          }
          return missing;
        },
        diag,
      );
    }, STEP_MS);

    it('routes only to existing Services and ports, through existing Gateways, Middlewares and Certificates', async () => {
      const services = new Map((await kube.items(['-n', ns, 'get', 'services'])).map((s) => [s.metadata.name, s]));
      const problems: string[] = [];
      let backends = 0;
      const checkBackend = (where: string, name: string, port: { number?: number; name?: string }) => {
        backends++;
        const svc = services.get(name);
        if (!svc) return problems.push(`${where}: Service ${name} does not exist`);
        const ok = svc.spec.ports.some((p: any) => (port.number !== undefined ? p.port === port.number : p.name === port.name));
        if (!ok) problems.push(`${where}: Service ${name} has no port ${port.number ?? port.name}`);
        return undefined;
      };
      const has = async (resource: string) => (await kube.kubectl(['get', resource, '-A', '-o', 'name'])).code === 0;
      const certificates = (await has('certificates.cert-manager.io')) ? await kube.items(['-n', ns, 'get', 'certificates.cert-manager.io']) : [];
      const certSecrets = new Set(certificates.map((c) => c.spec.secretName));
      const tlsSecret = (where: string, secret: string) => {
        if (!certSecrets.has(secret)) problems.push(`${where}: TLS secret ${secret} is produced by no Certificate in ${ns}`);
      };

      const ingresses = await kube.items(['-n', ns, 'get', 'ingresses.networking.k8s.io']);
      const middlewares = (await has('middlewares.traefik.io'))
        ? new Set((await kube.items(['get', 'middlewares.traefik.io', '-A'])).map((m) => `${m.metadata.namespace}-${m.metadata.name}@kubernetescrd`))
        : new Set<string>();
      for (const ing of ingresses) {
        const where = `Ingress ${ing.metadata.name}`;
        if (ing.spec.defaultBackend?.service) checkBackend(where, ing.spec.defaultBackend.service.name, ing.spec.defaultBackend.service.port);
        for (const rule of ing.spec.rules ?? []) {
          for (const p of rule.http?.paths ?? []) {
            if (p.backend.service) checkBackend(`${where} ${rule.host ?? '*'}${p.path ?? ''}`, p.backend.service.name, p.backend.service.port);
          }
        }
        for (const t of ing.spec.tls ?? []) tlsSecret(where, t.secretName);
        const mws = ing.metadata.annotations?.['traefik.ingress.kubernetes.io/router.middlewares'];
        for (const mw of mws ? mws.split(',').map((m: string) => m.trim()) : []) {
          if (!middlewares.has(mw)) problems.push(`${where}: Traefik middleware ${mw} does not exist`);
        }
      }

      const routes = (await has('httproutes.gateway.networking.k8s.io')) ? await kube.items(['-n', ns, 'get', 'httproutes.gateway.networking.k8s.io']) : [];
      const gateways = new Map(
        ((await has('gateways.gateway.networking.k8s.io')) ? await kube.items(['get', 'gateways.gateway.networking.k8s.io', '-A']) : []).map((g) => [
          `${g.metadata.namespace}/${g.metadata.name}`,
          g,
        ]),
      );
      for (const g of gateways.values()) {
        for (const l of g.spec.listeners ?? []) {
          for (const ref of l.tls?.certificateRefs ?? []) {
            if ((ref.kind ?? 'Secret') === 'Secret' && (ref.namespace ?? g.metadata.namespace) === ns) tlsSecret(`Gateway ${g.metadata.name} listener ${l.name}`, ref.name);
          }
        }
      }
      for (const route of routes) {
        const where = `HTTPRoute ${route.metadata.name}`;
        for (const parent of route.spec.parentRefs ?? []) {
          if ((parent.kind ?? 'Gateway') !== 'Gateway') continue;
          const g = gateways.get(`${parent.namespace ?? ns}/${parent.name}`);
          if (!g) problems.push(`${where}: Gateway ${parent.name} does not exist`);
          else if (parent.sectionName && !(g.spec.listeners ?? []).some((l: any) => l.name === parent.sectionName)) {
            problems.push(`${where}: Gateway ${parent.name} has no listener ${parent.sectionName}`);
          }
        }
        for (const rule of route.spec.rules ?? []) {
          // Traefik's Gateway provider: an ExtensionRef filter names a Middleware in the route's namespace.
          for (const f of rule.filters ?? []) {
            if (f.type !== 'ExtensionRef' || f.extensionRef?.group !== 'traefik.io' || f.extensionRef?.kind !== 'Middleware') continue;
            if (!middlewares.has(`${ns}-${f.extensionRef.name}@kubernetescrd`)) problems.push(`${where}: Traefik middleware ${f.extensionRef.name} does not exist in ${ns}`);
          }
          for (const ref of rule.backendRefs ?? []) {
            if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service') continue;
            if ((ref.namespace ?? ns) !== ns) {
              problems.push(`${where}: backend ${ref.name} in another namespace`);
              continue;
            }
            checkBackend(where, ref.name, { number: ref.port });
          }
        }
      }
      // Envoy Gateway's rate limit: every BackendTrafficPolicy targets an HTTPRoute of the stack (same namespace).
      const policies = (await has('backendtrafficpolicies.gateway.envoyproxy.io')) ? await kube.items(['-n', ns, 'get', 'backendtrafficpolicies.gateway.envoyproxy.io']) : [];
      const routeNames = new Set(routes.map((x) => x.metadata.name));
      for (const p of policies) {
        for (const t of p.spec.targetRefs ?? []) {
          if (t.kind === 'HTTPRoute' && !routeNames.has(t.name)) problems.push(`BackendTrafficPolicy ${p.metadata.name}: HTTPRoute ${t.name} does not exist in ${ns}`);
        }
      }
      r.edge = { ingresses: ingresses.length, httpRoutes: routes.length, backendTrafficPolicies: policies.length, backendsChecked: backends };
      expect(problems).toEqual([]);
      expect(backends, 'no Ingress or HTTPRoute backend found').toBeGreaterThan(0);
    }, STEP_MS);
  });
}

afterAll(() => {
  report.generatedAt = new Date().toISOString();
  report.wallSeconds = since(fileStart);
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  writeFileSync(REPORT_FILE, `${JSON.stringify(report, null, 2)}\n`);
  const lines = Object.entries(report.envs).map(
    ([env, e]) =>
      `${env.padEnd(5)} control plane ${String(e.controlPlaneStartSeconds ?? '-').padStart(6)}s  apply ${String(e.applySeconds ?? '-').padStart(6)}s  apply-to-ready ${String(e.applyToReadySeconds ?? '-').padStart(6)}s  worker job ${String(e.workerJobSeconds ?? '-').padStart(6)}s  re-apply-to-ready ${String(e.reapplyToReadySeconds ?? '-').padStart(6)}s`,
  );
  console.log(`cluster report (${REPORT_FILE}), ${report.wallSeconds}s in this file:\n${lines.join('\n')}`);
});
