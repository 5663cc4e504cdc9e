/**
 * The reference stack, synthesized for kind, running on the real node: the application's own images
 * (examples/dataplatform-app), PostgreSQL and Redis stand-ins through the spec's image overrides,
 * pgAdmin as the connectivity stand-in. What the README promises a user is checked from inside the
 * pods: the API answers from the database, the worker's rows reach it, the dashboard's login is
 * read-only, the NetworkPolicies admit exactly the declared flows, no data is lost to a restart,
 * a redeploy migrates, and a rotated password takes effect. (A full Redis and a rollout under load
 * are environments.test.ts's, on k3d's copy of the stack: side by side, the two files end sooner.)
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { referenceStack } from '../../model/reference';
import { randomPassword } from '../../ops/secrets';
import type { StackSpec } from '../../model/schema';
import { applyObjects, diagnostics, freshNamespace, httpServer, node, podIP, restrictedContainer, pod as podObject, tcpConnects, waitPodsReady, waitUntil, markFileDone } from './node';
import { type Deployment, applyStack, redisCli as redisOf, deployStack, dial, httpFrom, podOf, python, rowsFingerprint, runJob, serviceAnswer, shIn } from './stack';

const { info, kube } = node();
const OUTSIDE = 'runtime-outside';
let dir = '';
let stack: Deployment;
let NS = '';

const psql = (sql: string) => shIn(kube, NS, 'postgres-0', `psql -v ON_ERROR_STOP=1 -U postgres -d app -tAc "${sql}"`);
const redisCli = (args: string) => redisOf(kube, NS, args);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stackport-runtime-stack-'));
  await kube.kubectl(['delete', 'namespace', 'dataplatform', '--ignore-not-found', '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
  stack = await deployStack(kube, info, referenceStack, 'kind', dir, { connectivity: ['pgadmin'] });
  NS = stack.namespace;
  console.log(`kind: ops/apply.ts to every workload Ready in ${stack.readySeconds}s`);
});

afterAll(async () => {
  markFileDone('stack');
  await kube.kubectl(['delete', 'namespace', OUTSIDE, NS || 'dataplatform', '--ignore-not-found', '--wait=false']);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the reference stack on kind', () => {
  it('every workload is Ready on its probes; the migration completed before the API started', async () => {
    const jobs = await kube.items(['-n', NS, 'get', 'jobs', '-l', 'stackport.dev/release-job=migrate']);
    expect(jobs).toHaveLength(1);
    expect(jobs[0].status.succeeded).toBe(1);
    const api = await kube.json(['-n', NS, 'get', 'pod', await podOf(kube, NS, 'api')]);
    const wait = api.status.initContainerStatuses.find((s: any) => s.name === 'wait-for-migrate');
    expect(wait.state.terminated.exitCode).toBe(0);
    expect(Date.parse(wait.state.terminated.finishedAt)).toBeGreaterThanOrEqual(Date.parse(jobs[0].status.completionTime) - 1000);
  });

  it('the API answers /health and database-backed requests through its Service', async () => {
    const from = await podOf(kube, NS, 'dashboard');
    const { waited, ...health } = await serviceAnswer(kube, NS, from, 'http://api:8000/health');
    if (waited > 1) console.log(`kind: the api Service answered ${waited.toFixed(1)}s after the pods were Ready`);
    expect(health).toEqual({ status: 200, body: JSON.stringify({ status: 'ok', database: 'ok' }) });
    expect(await httpFrom(kube, NS, from, 'http://api:8000/api/runs/latest')).toEqual({ status: 404, body: JSON.stringify({ detail: 'the worker has not run yet' }) });
  });

  it('the worker, run from its CronJob, writes rows the API then returns', async () => {
    expect((await runJob(kube, NS, 'worker-now', 'cronjob/worker')).succeeded).toBe(1);
    const from = await podOf(kube, NS, 'dashboard');
    const run = await httpFrom(kube, NS, from, 'http://api:8000/api/runs/latest');
    expect(run.status).toBe(200);
    const latest = JSON.parse(run.body);
    expect(latest).toMatchObject({ source: 'generated', tasks: 'ingest,retention,features' });
    expect(latest.rows_written).toBeGreaterThan(0);
    const series = JSON.parse((await httpFrom(kube, NS, from, 'http://api:8000/api/series')).body);
    expect(series.length).toBeGreaterThan(0);
    expect(series.reduce((n: number, s: any) => n + s.observations, 0)).toBe(Number(await psql('select count(*) from observations')));
  });

  it("the dashboard's logins can SELECT and cannot INSERT", async () => {
    const program = `
import json, os, psycopg
out = {}
for var in ("DATABASE_URL", "FEATURES_DATABASE_URL"):
    with psycopg.connect(os.environ[var], connect_timeout=5) as c:
        user = c.execute("select current_user").fetchone()[0]
        table = "observations" if var == "DATABASE_URL" else "features"
        rows = c.execute(f"select count(*) from {table}").fetchone()[0]
        try:
            c.execute(f"insert into {table} default values")
            insert = "allowed"
        except psycopg.Error as e:
            insert = str(e).splitlines()[0]
        out[var] = {"user": user, "rows": rows, "insert": insert}
print(json.dumps(out))`;
    const out = JSON.parse(await python(kube, NS, await podOf(kube, NS, 'dashboard'), program));
    expect(out.DATABASE_URL.rows).toBeGreaterThan(0);
    expect(out.DATABASE_URL.insert).toBe('permission denied for table observations');
    expect(out.FEATURES_DATABASE_URL.rows).toBeGreaterThan(0);
    expect(out.FEATURES_DATABASE_URL.insert).toBe('permission denied for table features');
    expect(out.DATABASE_URL.user).not.toBe('app');
  });
});

describe('NetworkPolicies on the real node', () => {
  let worker = '';
  let outsideIP = '';
  beforeAll(async () => {
    // A pod of the worker (the CronJob's template, sleeping) to test its flows from.
    const cron = await kube.json(['-n', NS, 'get', 'cronjob', 'worker']);
    const tpl = cron.spec.jobTemplate.spec.template;
    const c = { ...tpl.spec.containers[0], command: ['python', '-c', 'import time; time.sleep(3600)'], args: undefined };
    worker = 'worker-probe';
    await applyObjects(kube, [{ apiVersion: 'v1', kind: 'Pod', metadata: { name: worker, namespace: NS, labels: tpl.metadata.labels }, spec: { ...tpl.spec, initContainers: undefined, containers: [c], restartPolicy: 'Never' } }]);
    // Outside the stack: a server on 443 (the worker's allowed egress port) and 8443, and a client.
    await freshNamespace(kube, OUTSIDE);
    const server = httpServer(OUTSIDE, 'outside', { app: 'outside' }, [443, 8443]);
    server.spec.securityContext = { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }] };
    await applyObjects(kube, [server, podObject(OUTSIDE, 'client', { app: 'client' }, [restrictedContainer('client', 'exec sleep 86400')])]);
    await waitPodsReady(kube, OUTSIDE, ['outside', 'client']);
    await waitPodsReady(kube, NS, [worker]);
    outsideIP = await podIP(kube, OUTSIDE, 'outside');
  });

  const can = async (component: string, host: string, port: number) => dial(kube, NS, component === 'worker' ? worker : await podOf(kube, NS, component), host, port);

  it('every flow the relations declare connects, by Service name (DNS)', async () => {
    const flows: Array<[string, string, number]> = [
      ['api', 'postgres', 5432],
      ['api', 'redis', 6379],
      ['dashboard', 'postgres', 5432],
      ['dashboard', 'api', 8000],
      ['worker', 'postgres', 5432],
      ['worker', 'redis', 6379],
    ];
    const failed: string[] = [];
    for (const [from, to, port] of flows) if (!(await can(from, to, port))) failed.push(`${from} -> ${to}:${port}`);
    expect(failed).toEqual([]);
  });

  it('flows the relations do not declare are refused, though the same target answers others', async () => {
    // Each target is shown to answer first, so a refusal cannot be a server that is down.
    expect(await can('api', 'redis', 6379)).toBe(true);
    expect(await can('dashboard', 'redis', 6379)).toBe(false);

    const dashboard = await podOf(kube, NS, 'dashboard');
    expect(await dial(kube, NS, dashboard, '127.0.0.1', 8501)).toBe(true);
    expect(await can('worker', 'dashboard', 8501)).toBe(false);
    expect(await can('api', 'dashboard', 8501)).toBe(false);

    expect(await tcpConnects(kube, OUTSIDE, 'client', outsideIP, 443)).toBe(true);
    expect(await tcpConnects(kube, OUTSIDE, 'client', outsideIP, 8443)).toBe(true);
    expect(await can('worker', outsideIP, 443)).toBe(true); // the worker's declared egress
    expect(await can('worker', outsideIP, 8443)).toBe(false);
    expect(await can('api', outsideIP, 443)).toBe(false);

    const postgres = (await kube.json(['-n', NS, 'get', 'service', 'postgres'])).spec.clusterIP;
    expect(await tcpConnects(kube, OUTSIDE, 'client', postgres, 5432)).toBe(false);
  });
});

describe('no data lost', () => {
  const fingerprint = () => rowsFingerprint(kube, NS, 'app');

  it('rows survive deleting postgres-0, and deleting and re-applying the StatefulSet', async () => {
    const before = await fingerprint();
    expect(before).toMatch(/^[1-9]\d*:/);
    await kube.ok(['-n', NS, 'delete', 'pod', 'postgres-0', '--wait=true'], { timeoutMs: 120_000 });
    await waitPodsReady(kube, NS, ['postgres-0'], 180);
    expect(await fingerprint()).toBe(before);

    await kube.ok(['-n', NS, 'delete', 'statefulset', 'postgres', '--wait=true'], { timeoutMs: 120_000 });
    await waitUntil('postgres-0 gone', async () => ((await kube.kubectl(['-n', NS, 'get', 'pod', 'postgres-0'])).code !== 0 ? [] : ['postgres-0 deleted']), () => diagnostics(kube, NS), 120);
    await deployStack(kube, info, referenceStack, 'kind', dir, { connectivity: ['pgadmin'] });
    expect(await fingerprint()).toBe(before);
  });

  it('Redis keys survive a SIGKILL of redis-server (append-only file)', async () => {
    expect(await redisCli('set runtime:proof kept-after-kill')).toBe('OK');
    await new Promise((r) => setTimeout(r, 2500)); // appendfsync everysec
    const p = await kube.json(['-n', NS, 'get', 'pod', 'redis-0']);
    const restarts = p.status.containerStatuses[0].restartCount;
    const pid = redisServerPid(p.metadata.uid);
    process.kill(pid, 'SIGKILL');
    await waitUntil(
      'redis-0 restarted and Ready',
      async () => {
        const q = await kube.json(['-n', NS, 'get', 'pod', 'redis-0']);
        const s = q.status.containerStatuses[0];
        return s.restartCount > restarts && s.ready ? [] : ['restarted and ready'];
      },
      () => diagnostics(kube, NS),
      120,
    );
    const last = (await kube.json(['-n', NS, 'get', 'pod', 'redis-0'])).status.containerStatuses[0].lastState.terminated;
    expect(last.exitCode).toBe(137);
    expect(await redisCli('get runtime:proof')).toBe('kept-after-kill');
    // Ready is not yet reachable: while the pod was not Ready its Service had no endpoint, and
    // kube-proxy rejects connections until it has synced the endpoint back. The stack's clients
    // (and the next test) connect through the Service, so wait until they can.
    const api = await podOf(kube, NS, 'api');
    await waitUntil('the API reaches redis:6379 through its Service again', async () => ((await dial(kube, NS, api, 'redis', 6379)) ? [] : ['connection refused']), () => diagnostics(kube, NS), 60);
  });
});

/** The host PID of redis-server in the pod with this UID (the node shares the host's PID namespace). */
function redisServerPid(uid: string): number {
  const needle = [uid, uid.replace(/-/g, '_')];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (comm !== 'redis-server') continue;
      const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (needle.some((n) => cgroup.includes(n))) return Number(pid);
    } catch {
      // exited meanwhile
    }
  }
  throw new Error(`no redis-server process in the cgroup of pod ${uid}`);
}

describe('a redeploy', () => {
  it('runs a new migration Job twice; each completes without a failed pod, and the old one is pruned', async () => {
    const jobs: string[] = [];
    for (const release of ['r2', 'r3']) {
      const c = referenceStack.components.migrate as any;
      const spec = { ...referenceStack, components: { ...referenceStack.components, migrate: { ...c, env: { ...(c.env ?? {}), RELEASE: release } } } } as StackSpec;
      await deployStack(kube, info, spec, 'kind', dir, { connectivity: ['pgadmin'] });
      const now = await kube.items(['-n', NS, 'get', 'jobs', '-l', 'stackport.dev/release-job=migrate']);
      expect(now).toHaveLength(1);
      expect(jobs).not.toContain(now[0].metadata.name);
      expect(now[0].status.succeeded).toBe(1);
      expect(now[0].status.failed ?? 0).toBe(0);
      jobs.push(now[0].metadata.name);
    }
  });
});

describe('a rotated password', () => {
  it('is in force on PostgreSQL and Redis after the next deploy; exactly their clients restart, and the API still answers from the database', async () => {
    // Rotated the local way: a new value in the secrets file the deploy applies (a store does the same to the Secret).
    const file = join(dir, 'secrets.yaml');
    const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
    const rotated: Record<string, string> = { 'postgres-user-app': randomPassword(), 'redis-auth': randomPassword() };
    const old: Record<string, string> = {};
    for (const d of docs) if (rotated[d.metadata.name]) [old[d.metadata.name], d.stringData.password] = [d.stringData.password, rotated[d.metadata.name]];
    writeFileSync(file, docs.map((d) => stringify(d)).join('---\n'), { mode: 0o600 });
    const uid = async (c: string) => (await kube.json(['-n', NS, 'get', 'pod', await podOf(kube, NS, c)])).metadata.uid;
    const before = { api: await uid('api'), dashboard: await uid('dashboard'), postgres: await uid('postgres'), redis: await uid('redis') };

    const log: string[] = [];
    const t0 = Date.now();
    applyStack(info, referenceStack, 'kind', dir, { connectivity: ['pgadmin'] }, (l) => log.push(l));
    console.log(`rotation: deploy waited ${((Date.now() - t0) / 1000).toFixed(1)}s; ${log.filter((l) => /in force/.test(l)).join('; ')}`);
    expect(log.join('\n')).toMatch(/postgres: the Secrets' passwords are in force \(5 checked in/);
    expect(log.join('\n')).toMatch(/redis: the Secrets' passwords are in force \(1 checked in/);
    await waitUntil('the stack up after the rotation', async () => {
      const rolled = (await kube.items(['-n', NS, 'get', 'deployments,statefulsets'])).filter((o) => (o.status?.updatedReplicas ?? 0) < o.spec.replicas || (o.status?.readyReplicas ?? 0) < o.spec.replicas || (o.status?.replicas ?? 0) > o.spec.replicas);
      return rolled.map((o) => `${o.kind}/${o.metadata.name}`);
    }, () => diagnostics(kube, NS), 240);
    // The API (reads postgres-user-app and redis-auth) restarted; the servers took the values in place.
    expect(await uid('api')).not.toBe(before.api);
    expect(await uid('postgres')).toBe(before.postgres);
    expect(await uid('redis')).toBe(before.redis);
    expect(await uid('dashboard')).toBe(before.dashboard); // its read-only logins did not change

    const from = await podOf(kube, NS, 'dashboard');
    // An API pod of the old revision holds the old password: until it has left the Service (it is
    // terminating, and its readiness fails), a request may reach it and get 503 "database unreachable".
    let health: { status: number; body: string } | undefined;
    const drained = await waitUntil('the api Service answering from its new pod only', async () => {
      const leaving = (await kube.items(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=api'])).filter((p) => p.metadata.deletionTimestamp).map((p) => `${p.metadata.name} terminating`);
      health = await httpFrom(kube, NS, from, 'http://api:8000/health');
      return [...leaving, ...(health.status === 200 ? [] : [`/health answered ${health.status}`])];
    }, () => diagnostics(kube, NS), 90);
    console.log(`rotation: the api Service answered from the new pod only ${drained.toFixed(1)}s after the rollout`);
    expect(health).toEqual({ status: 200, body: JSON.stringify({ status: 'ok', database: 'ok' }) });
    expect((await httpFrom(kube, NS, from, 'http://api:8000/api/series')).status).toBe(200);
    // From the API's pod, as a client: the new passwords log in, the old ones are refused.
    const program = `
import json, os, sys, psycopg, redis
url, rurl = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
def pg(u):
    try:
        with psycopg.connect(u, connect_timeout=5) as c: return c.execute("select current_user").fetchone()[0]
    except psycopg.Error as e: return str(e).splitlines()[0]
def rd(u):
    try: return str(redis.Redis.from_url(u, socket_timeout=5).ping())
    except redis.RedisError as e: return str(e)
print(json.dumps({"pg": pg(url), "pgOld": pg(url.replace(sys.argv[1], sys.argv[2])), "redis": rd(rurl), "redisOld": rd(rurl.replace(sys.argv[3], sys.argv[4]))}))`;
    const out = JSON.parse(await python(kube, NS, await podOf(kube, NS, 'api'), program, [rotated['postgres-user-app'], old['postgres-user-app'], rotated['redis-auth'], old['redis-auth']]));
    expect(out.pg).toBe('app');
    expect(out.pgOld).toContain('password authentication failed for user "app"');
    expect(out.redis).toBe('True');
    expect(out.redisOld).toMatch(/invalid username-password pair|WRONGPASS|Authentication required/i);

    // Deployed again unchanged: nothing restarts.
    const settled = { api: await uid('api'), dashboard: await uid('dashboard') };
    applyStack(info, referenceStack, 'kind', dir, { connectivity: ['pgadmin'] });
    await new Promise((r) => setTimeout(r, 3000));
    expect({ api: await uid('api'), dashboard: await uid('dashboard') }).toEqual(settled);
    expect((await kube.items(['-n', NS, 'get', 'pods'])).filter((p) => p.metadata.deletionTimestamp).map((p) => p.metadata.name)).toEqual([]);
  });
});

describe('changes the running stack cannot take', () => {
  const unchanged = async () => {
    const sts = await kube.json(['-n', NS, 'get', 'statefulset', 'postgres']);
    const pod = await kube.json(['-n', NS, 'get', 'pod', 'postgres-0']);
    return { image: sts.spec.template.spec.containers[0].image, storage: sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, generation: sts.metadata.generation, pod: pod.metadata.uid };
  };

  it('a PostgreSQL major upgrade is refused before anything is applied, and the server keeps running', async () => {
    const before = await unchanged();
    const rows = await rowsFingerprint(kube, NS, 'app');
    expect(before.image).toMatch(/:15$/);
    expect(() => applyStack(info, referenceStack, 'kind', dir, { connectivity: ['pgadmin'], images: ['postgres=stackport.local/postgres-standin:16'] })).toThrow(
      /nothing was applied[\s\S]*StatefulSet dataplatform\/postgres: its data directory was made by PostgreSQL 15 \(.*:15\) and the spec now runs .*:16 \(PostgreSQL 16\)/,
    );
    expect(await unchanged()).toEqual(before);
    expect(await rowsFingerprint(kube, NS, 'app')).toBe(rows);
  });

  it("a larger volume on kind's standard class (no volume expansion) is refused, naming the claim and the class", async () => {
    const before = await unchanged();
    const pg = referenceStack.components.postgres as any;
    const bigger = { ...referenceStack, components: { ...referenceStack.components, postgres: { ...pg, storage: '3Gi' } } } as StackSpec;
    expect(() => applyStack(info, bigger, 'kind', dir, { connectivity: ['pgadmin'] })).toThrow(/volume data would grow from 2Gi to 3Gi, but the StorageClass of data-postgres-0 \(standard\) does not allow volume expansion/);
    expect(await unchanged()).toEqual(before);
  });
});
