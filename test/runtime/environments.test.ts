/**
 * The reference stack's other environments on the same real node (kind's is stack.test.ts):
 * k3d on the local-path class, where a full Redis evicts instead of dying and a rollout of the API
 * under load fails no request (kind and k3d share every setting those depend on), and prod with two replicas of each web component, their
 * PodDisruptionBudgets, a backup that restores, and a storage increase that keeps every row (on
 * the node's `expandable` class, which allows expansion as a cloud class does).
 *
 * prod is given what a small cluster with preloaded images would set in its spec: imagePullPolicy
 * IfNotPresent (the node has no registry to pull from) and requests that fit two cores (prod's
 * defaults ask for 2.6 CPUs); everything else is prod as synthesized.
 *
 * Each environment gets a namespace of its own through the spec (`namespace`), so this file runs
 * alongside stack.test.ts, whose kind stack keeps the reference namespace.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceStack } from '../../model/reference';
import type { StackSpec } from '../../model/schema';
import { diagnostics, node, waitUntil, markFileDone } from './node';
import { deployStack, podOf, python, redisCli, rowsFingerprint, runJob, serviceAnswer } from './stack';

const { info, kube } = node();
const K3D = 'dataplatform-k3d';
const PROD = 'dataplatform-prod';
const dirs: string[] = [];

/** A fresh namespace (one left over from an aborted run is deleted first) and a folder for NS. */
const fresh = async (ns: string) => {
  await kube.kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
  const dir = mkdtempSync(join(tmpdir(), 'stackport-runtime-env-'));
  dirs.push(dir);
  return dir;
};
const fingerprint = (db: string) => rowsFingerprint(kube, PROD, db);

afterAll(async () => {
  markFileDone('environments');
  await kube.kubectl(['delete', 'namespace', K3D, PROD, '--ignore-not-found', '--wait=false']);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('k3d', () => {
  const NS = K3D;
  // Done with k3d, passed or not: its pods make room for prod's and the other files' while the namespace goes.
  afterAll(() => kube.kubectl(['delete', 'namespace', NS, '--wait=false']));

  it('becomes Ready on the local-path class, and the API answers from the database', async () => {
    const dir = await fresh(NS);
    const d = await deployStack(kube, info, { ...referenceStack, namespace: NS }, 'k3d', dir, { connectivity: ['pgadmin'] });
    expect(d.namespace).toBe(NS);
    console.log(`k3d: ops/apply.ts to every workload Ready in ${d.readySeconds}s`);
    const claims = await kube.items(['-n', NS, 'get', 'pvc']);
    expect(claims.map((c) => `${c.metadata.name}:${c.spec.storageClassName}:${c.status.phase}`).sort()).toEqual(['data-postgres-0:local-path:Bound', 'data-redis-0:local-path:Bound']);
    const health = await serviceAnswer(kube, NS, await podOf(kube, NS, 'dashboard'), 'http://api:8000/health');
    if (health.waited > 1) console.log(`k3d: the api Service answered ${health.waited.toFixed(1)}s after the pods were Ready`);
    expect(health.status).toBe(200);
  });

  it('a full Redis evicts keys (the reference Redis is a cache: allkeys-lru) and is not OOM-killed', async () => {
    const p0 = await kube.json(['-n', NS, 'get', 'pod', 'redis-0']);
    const restarts = p0.status.containerStatuses[0].restartCount;
    const program = `
import json, os, redis
r = redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=30)
cap = r.info("memory")["maxmemory"]
value = b"x" * 1024
n = 0
while n * 1024 < 1.5 * cap:
    p = r.pipeline(transaction=False)
    for i in range(1000):
        p.set(f"fill:{n + i}", value)
    p.execute()
    n += 1000
mem, stats = r.info("memory"), r.info("stats")
print(json.dumps({"written": n, "cap": cap, "policy": mem["maxmemory_policy"], "used": mem["used_memory"], "rss": mem["used_memory_rss"], "evicted": stats["evicted_keys"], "keys": r.dbsize()}))`;
    let text: string;
    try {
      text = await python(kube, NS, await podOf(kube, NS, 'api'), program, [], 300_000);
    } catch (e) {
      // Say why the server dropped the client: an OOM kill, a failed liveness probe, or neither.
      const s = (await kube.json(['-n', NS, 'get', 'pod', 'redis-0'])).status.containerStatuses[0];
      const events = (await kube.items(['-n', NS, 'get', 'events', '--field-selector', 'involvedObject.name=redis-0'])).map((ev) => `${ev.reason}: ${ev.message}`);
      throw new Error(`${(e as Error).message}\nredis-0: restarts ${s.restartCount}, last state ${JSON.stringify(s.lastState)}\n${events.join('\n')}`);
    }
    const out = JSON.parse(text);
    console.log(`redis fill: ${JSON.stringify(out)}`);
    expect(out.cap).toBe(256 * 1024 * 1024);
    expect(out.policy).toBe('allkeys-lru');
    expect(out.evicted).toBeGreaterThan(0);
    expect(out.used).toBeLessThanOrEqual(out.cap * 1.05);
    const s = (await kube.json(['-n', NS, 'get', 'pod', 'redis-0'])).status.containerStatuses[0];
    expect(s.restartCount).toBe(restarts);
    expect(s.ready).toBe(true);
    await redisCli(kube, NS, 'flushall');
  });

  it('a rollout of the API under load fails no request (preStop, readiness, maxUnavailable 0)', async () => {
    const from = await podOf(kube, NS, 'dashboard');
    const loop = `
import json, os, time, urllib.request
sent = failed = 0
errors = []
while os.path.exists("/tmp/rollout-loop"):
    sent += 1
    try:
        with urllib.request.urlopen("http://api:8000/health", timeout=5) as r:
            r.read()
    except Exception as e:
        failed += 1
        errors.append(f"{type(e).__name__}: {e}"[:160])
    time.sleep(0.02)
print(json.dumps({"sent": sent, "failed": failed, "errors": errors[:5]}))`;
    await kube.ok(['-n', NS, 'exec', from, '--', 'touch', '/tmp/rollout-loop']);
    const result = python(kube, NS, from, loop, [], 600_000);
    const old = (await kube.items(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=api'])).map((p) => p.metadata.name);
    await new Promise((r) => setTimeout(r, 3000));
    await kube.ok(['-n', NS, 'rollout', 'restart', 'deployment/api']);
    await kube.ok(['-n', NS, 'rollout', 'status', 'deployment/api', '--timeout=300s'], { timeoutMs: 320_000 });
    await waitUntil('the old API pods gone', async () => (await kube.items(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=api'])).map((p) => p.metadata.name).filter((n) => old.includes(n)), () => diagnostics(kube, NS), 120);
    await new Promise((r) => setTimeout(r, 3000));
    await kube.ok(['-n', NS, 'exec', from, '--', 'rm', '/tmp/rollout-loop']);
    const out = JSON.parse(await result);
    console.log(`rollout restart of the API: ${out.sent} requests sent, ${out.failed} failed ${JSON.stringify(out.errors)}`);
    expect(out.sent).toBeGreaterThan(100);
    expect(out.failed).toBe(0);
  });
});

describe('prod', () => {
  const NS = PROD;
  const prodSpec = (): StackSpec => {
    const prod = referenceStack.environments?.prod ?? {};
    const small = (cpu: string, memory: string) => ({ requests: { cpu, memory }, limits: { memory: '1Gi' } });
    return {
      ...referenceStack,
      namespace: NS,
      environments: {
        ...referenceStack.environments,
        prod: {
          ...prod,
          imagePullPolicy: 'IfNotPresent',
          // A class that allows expansion, as a cloud's does (the node's provisioner behind it).
          storageClass: 'expandable',
          components: {
            api: { resources: small('100m', '256Mi') },
            dashboard: { resources: small('50m', '256Mi') },
            postgres: { resources: small('200m', '512Mi') },
            worker: { resources: small('100m', '512Mi') },
          },
        },
      },
    } as StackSpec;
  };

  let dir = '';
  beforeAll(async () => {
    dir = await fresh(NS);
    // prod refuses placeholders for provided keys; the application treats "placeholder-" values as unset.
    process.env.FRED_API_KEY = 'placeholder-runtime-test';
    process.env.FMP_API_KEY = 'placeholder-runtime-test';
    const d = await deployStack(kube, info, prodSpec(), 'prod', dir, { connectivity: ['pgadmin'], readySeconds: 600 });
    console.log(`prod: ops/apply.ts to every workload Ready in ${d.readySeconds}s`);
  });

  it('runs two replicas of the API and the dashboard, each with a PodDisruptionBudget that allows one disruption', async () => {
    for (const name of ['api', 'dashboard']) {
      const dep = await kube.json(['-n', NS, 'get', 'deployment', name]);
      expect(dep.status.readyReplicas).toBe(2);
      await waitUntil(
        `PodDisruptionBudget ${name} allows a disruption`,
        async () => ((await kube.json(['-n', NS, 'get', 'pdb', name])).status?.disruptionsAllowed === 1 ? [] : ['disruptionsAllowed 1']),
        () => diagnostics(kube, NS),
        60,
      );
    }
  });

  it('backs up with the backup CronJob, and the dump restores into a scratch database with the same rows', async () => {
    expect((await runJob(kube, NS, 'worker-now', 'cronjob/worker')).succeeded).toBe(1);
    const rows = await fingerprint('app');
    expect(rows).toMatch(/^[1-9]\d*:/);
    expect((await runJob(kube, NS, 'backup-now', 'cronjob/postgres-backup')).succeeded).toBe(1);

    // Restore as an operator would: a pod of the backup's template (its volume, login and network
    // access), running pg_restore of the newest dump into a new database.
    const cron = await kube.json(['-n', NS, 'get', 'cronjob', 'postgres-backup']);
    const tpl = cron.spec.jobTemplate.spec.template;
    const script = [
      'set -eu',
      'export PGPASSWORD="$(cat /run/secrets/postgres/password)"',
      'f=$(ls -1t /backups/app-*.dump | head -n 1)',
      'psql -h postgres -U postgres -d postgres -v ON_ERROR_STOP=1 -c "create database restore_check"',
      'pg_restore -h postgres -U postgres -d restore_check --no-owner --exit-on-error "$f"',
      'echo "restored $f"',
    ].join('\n');
    const restore = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'restore-check', namespace: NS, labels: tpl.metadata.labels },
      spec: { ...tpl.spec, restartPolicy: 'Never', containers: [{ ...tpl.spec.containers[0], name: 'restore', command: ['sh', '-c', script] }] },
    };
    await kube.ok(['apply', '-f', '-'], { input: JSON.stringify(restore) });
    await waitUntil(
      'pod restore-check finished',
      async () => (['Succeeded', 'Failed'].includes((await kube.json(['-n', NS, 'get', 'pod', 'restore-check'])).status.phase) ? [] : ['finished']),
      () => diagnostics(kube, NS),
      180,
    );
    const log = await kube.ok(['-n', NS, 'logs', 'restore-check']);
    expect((await kube.json(['-n', NS, 'get', 'pod', 'restore-check'])).status.phase, log).toBe('Succeeded');
    expect(log).toMatch(/^restored \/backups\/app-\d{8}T\d{6}Z\.dump$/m);
    expect(await fingerprint('restore_check')).toBe(rows);
  });

  it('grows the database volume on a class that allows it: the claim asks for more, the StatefulSet is recreated around the same pod, and every row is kept', async () => {
    const rows = await fingerprint('app');
    expect(rows).toMatch(/^[1-9]\d*:/);
    const before = {
      sts: (await kube.json(['-n', NS, 'get', 'statefulset', 'postgres'])).metadata.uid,
      pod: (await kube.json(['-n', NS, 'get', 'pod', 'postgres-0'])).metadata.uid,
      claim: await kube.json(['-n', NS, 'get', 'pvc', 'data-postgres-0']),
    };
    expect(before.claim.spec.storageClassName).toBe('expandable');
    const size = before.claim.spec.resources.requests.storage;
    expect(size).toBe('20Gi');

    const spec = prodSpec();
    const bigger = { ...spec, components: { ...spec.components, postgres: { ...(spec.components.postgres as any), storage: '30Gi' } } } as StackSpec;
    const d = await deployStack(kube, info, bigger, 'prod', dir, { connectivity: ['pgadmin'], readySeconds: 300 });
    console.log(`prod: storage 20Gi -> 30Gi, applied and Ready in ${d.readySeconds}s`);
    expect(d.log).toContain(`volume data of StatefulSet ${NS}/postgres: 20Gi -> 30Gi (1 claim(s) asked to grow; the StatefulSet is recreated with its pods and claims kept)`);

    const sts = await kube.json(['-n', NS, 'get', 'statefulset', 'postgres']);
    expect(sts.metadata.uid).not.toBe(before.sts);
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('30Gi');
    const claim = await kube.json(['-n', NS, 'get', 'pvc', 'data-postgres-0']);
    expect(claim.metadata.uid).toBe(before.claim.metadata.uid);
    expect(claim.spec.volumeName).toBe(before.claim.spec.volumeName);
    expect(claim.spec.resources.requests.storage).toBe('30Gi');
    // The pod was adopted, not replaced: the server never stopped.
    const pod = await kube.json(['-n', NS, 'get', 'pod', 'postgres-0']);
    expect(pod.metadata.uid).toBe(before.pod);
    expect(pod.metadata.ownerReferences?.[0]?.uid).toBe(sts.metadata.uid);
    expect(await fingerprint('app')).toBe(rows);
    // The node's provisioner has no resizer (a directory has no size): the claim still says 20Gi,
    // and the deploy says so rather than claiming the resize is done.
    console.log(`prod: claim data-postgres-0 asks for ${claim.spec.resources.requests.storage}, has ${claim.status?.capacity?.storage}`);
    if (claim.status?.capacity?.storage !== '30Gi') {
      expect(d.log.join('\n')).toContain(`claim ${NS}/data-postgres-0: ${claim.status.capacity.storage} of 30Gi so far; the volume driver of class expandable finishes the resize`);
    }
    // Deployed again: the StatefulSet now matches; nothing is recreated.
    const again = await deployStack(kube, info, bigger, 'prod', dir, { connectivity: ['pgadmin'], readySeconds: 300 });
    expect(again.log.join('\n')).not.toContain('asked to grow');
    expect((await kube.json(['-n', NS, 'get', 'statefulset', 'postgres'])).metadata.uid).toBe(sts.metadata.uid);
  });
});
