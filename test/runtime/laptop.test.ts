/**
 * The laptop commands on the real node, run as a user runs them: `node bin/stackport.js ...` with the
 * node's kubeconfig and `--context stackport-node` (an existing cluster: creating one needs Docker,
 * which the unit tests stand in for), inside the node's network namespace where its API server and
 * pods are reachable.
 *
 * The spec is the reference stack in a namespace of its own; PostgreSQL and Redis run the stand-ins
 * and pgAdmin the connectivity stand-in (which listens on PGADMIN_LISTEN_PORT), all through
 * `--image`, so nothing of the synthesized output is rewritten. cert-manager and cloud-provider-kind
 * are left out (--skip-addon): neither can run here; the CRD add-ons are installed for real.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { toYaml } from '../../charts/yaml';
import { binDir, run } from '../cluster/kube';
import { diagnostics, node, ROOT, waitUntil, markFileDone } from './node';
import { builtImage, httpFrom, shIn } from './stack';

const { info, kube } = node();
const NS = 'runtime-laptop';
const CONTEXT = 'stackport-node';
let dir: string;
let spec: string;

/** The CLI inside the node's network namespace, with the pinned kubectl first on PATH. */
function cli(args: string[], timeoutMs = 420_000) {
  return run(info.nodeExec, ['node', join(ROOT, 'bin', 'stackport.js'), ...args, '--context', CONTEXT, '--kubeconfig', info.kubeconfig], {
    cwd: dir,
    timeoutMs,
    env: { ...process.env, PATH: `${binDir()}:${process.env.PATH}`, KUBECONFIG: '' },
  });
}

const images = () => ['postgres=postgres-standin', 'redis=redis-standin', 'pgadmin=connectivity'].flatMap((o) => ['--image', `${o.split('=')[0]}=${builtImage(o.split('=')[1])}`]);
const up = (file = spec, extra: string[] = []) => cli(['up', 'kind', '--spec', file, ...images(), '--skip-addon', 'cert-manager', '--skip-addon', 'cloud-provider-kind', '--skip-missing', '--timeout', '360', ...extra]);
const sql = (q: string, extra: string[] = []) => cli(['psql', 'app', '--spec', spec, '-c', q, ...extra], 60_000);
const count = async () => {
  const r = await sql('select count(*) from laptop_rows');
  expect(r.code, r.stderr).toBe(0);
  return Number(/^\s*(\d+)\s*$/m.exec(r.stdout)?.[1]);
};
/** The stack's objects in the namespace, kind/name -> uid. */
const objects = async () => {
  const items = await kube.items(['-n', NS, 'get', 'deployments,statefulsets,cronjobs,jobs,services,configmaps,networkpolicies,secrets,pvc', '-l', 'app.kubernetes.io/part-of=dataplatform']);
  return new Map(items.filter((o) => !o.metadata.ownerReferences).map((o) => [`${o.kind}/${o.metadata.name}`, o.metadata.uid as string]));
};

beforeAll(async () => {
  await kube.kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
  dir = mkdtempSync(join(tmpdir(), 'stackport-runtime-laptop-'));
  const reference = parse(readFileSync(join(ROOT, 'examples', 'dataplatform.stack.yaml'), 'utf8'));
  spec = join(dir, 'stack.yaml');
  writeFileSync(spec, toYaml([{ ...reference, namespace: NS }]));
});

afterAll(async () => {
  markFileDone('laptop');
  await kube.kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('stackport up on an existing cluster', () => {
  it('stops at the first hopeless state: an image the cluster cannot get, named with the fix', async () => {
    // pgAdmin's real image: the node has no registry to pull it from.
    const r = await cli(['up', 'kind', '--spec', spec, '--image', `postgres=${builtImage('postgres-standin')}`, '--image', `redis=${builtImage('redis-standin')}`, '--skip-addon', 'cert-manager', '--skip-addon', 'cloud-provider-kind', '--skip-missing', '--timeout', '360']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`context: ${CONTEXT}`);
    // The CRD add-ons are installed (or found at the pinned version when another file got there first).
    expect(r.stderr).toMatch(/Gateway API CRDs: (installed|already at) v/);
    expect(r.stderr).toMatch(/prometheus-operator CRDs: (installed|already at) v/);
    expect(r.stderr).toContain('cert-manager: skipped (--skip-addon)');
    expect(r.stderr).toMatch(/error: pgadmin cannot come up: pod pgadmin-\S+: the image dpage\/pgadmin4:9\.17 of container pgadmin is not in the cluster and cannot be pulled/);
    expect(r.stderr).toMatch(/\n {2}fix: /);
  });

  it('brings the stack up and prints where it answers', async () => {
    const t0 = Date.now();
    const r = await up();
    expect(r.code, r.stderr).toBe(0);
    console.log(`laptop: stackport up (second run, pgAdmin replaced) in ${Math.round((Date.now() - t0) / 1000)}s`);
    expect(r.stdout).toContain(`dataplatform is up in namespace ${NS} (context ${CONTEXT}).`);
    expect(r.stdout).toMatch(/api +https:\/\/dataplatform\.localtest\.me\/api/);
    expect(r.stdout).toContain('Not routed (reach them with stackport open COMPONENT): pgadmin');
    // The live display, written as lines when the output is not a terminal.
    expect(r.stderr).toMatch(/ {2}ok pgadmin +Deployment +1\/1/);
  });

  it('status shows one row per component, ready, with its URL', async () => {
    const r = await cli(['status', '--spec', spec], 60_000);
    expect(r.code, r.stderr).toBe(0);
    const rows = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/ {2,}/))
        .map((c) => [c[0], c]),
    );
    expect(Object.keys(rows).sort()).toEqual(['api', 'dashboard', 'migrate', 'pgadmin', 'postgres', 'redis', 'worker']);
    expect(rows.api.slice(1, 3)).toEqual(['Deployment', '1/1']);
    expect(rows.api).toContain('https://dataplatform.localtest.me/api');
    expect(rows.postgres.slice(1, 3)).toEqual(['StatefulSet', '1/1']);
    expect(rows.migrate.slice(1, 3)).toEqual(['Job', 'complete']);
    expect(rows.worker.slice(1, 3)).toEqual(['CronJob', 'scheduled']);
    expect(rows.pgadmin).toContain('stackport open pgadmin');
  });

  it('run worker runs it now and passes its exit code on; the next up takes back a hand edit', async () => {
    const ok = await cli(['run', 'worker', '--spec', spec], 300_000);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('run finished');
    expect(ok.stderr).toMatch(/worker exited with 0/);
    await kube.ok(['-n', NS, 'patch', 'cronjob', 'worker', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/jobTemplate/spec/template/spec/containers/0/command', value: ['sh', '-c', 'echo failing on purpose; exit 3'] }])]);
    const failed = await cli(['run', 'worker', '--spec', spec], 300_000);
    expect(failed.code, failed.stderr).toBe(3);
    expect(failed.stdout).toContain('failing on purpose');
    const status = await cli(['status', '--spec', spec], 60_000);
    expect(status.stdout).toMatch(/worker +CronJob +scheduled .* ago, failed/);
    // up owns its objects: the edited command is set back (server-side apply, conflicts forced).
    expect((await up()).code).toBe(0);
    const cron = await kube.json(['-n', NS, 'get', 'cronjob', 'worker']);
    expect(cron.spec.jobTemplate.spec.template.spec.containers[0].command).not.toContain('echo failing on purpose; exit 3');
  });

  it('psql writes rows, and psql --read-only refuses an INSERT', async () => {
    const w = await sql('create table laptop_rows (n int); insert into laptop_rows select generate_series(1, 25)');
    expect(w.code, w.stderr).toBe(0);
    expect(await count()).toBe(25);
    const ro = await sql('insert into laptop_rows values (26)', ['--read-only']);
    expect(ro.code).not.toBe(0);
    expect(ro.stderr).toContain('cannot execute INSERT in a read-only transaction');
    expect(await count()).toBe(25);
  });

  it('backup then restore brings the rows back', async () => {
    const file = join(dir, 'app.dump');
    const b = await cli(['backup', 'app', '--spec', spec, '--to', file], 120_000);
    expect(b.code, b.stderr).toBe(0);
    expect(readFileSync(file).subarray(0, 5).toString()).toBe('PGDMP'); // pg_dump's custom format
    expect((await sql('delete from laptop_rows where n > 5')).code).toBe(0);
    expect(await count()).toBe(5);
    const r = await cli(['restore', 'app', '--spec', spec, '--from', file], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(await count()).toBe(25);
  });

  it('open pgadmin forwards a local port to it and prints the login', async () => {
    const secret = await kube.json(['-n', NS, 'get', 'secret', 'pgadmin-login']);
    const password = Buffer.from(secret.data.password, 'base64').toString('utf8');
    const child = spawn(info.nodeExec, ['node', join(ROOT, 'bin', 'stackport.js'), 'open', 'pgadmin', '--spec', spec, '--context', CONTEXT, '--kubeconfig', info.kubeconfig], {
      cwd: dir,
      env: { ...process.env, PATH: `${binDir()}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const deadline = Date.now() + 60_000;
      while (!/login: /.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
      const url = /pgadmin: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out)?.[1];
      expect(url, out).toBeDefined();
      expect(out).toContain(`login: admin@example.com / ${password}`);
      const res = await run(info.nodeExec, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '5', `${url}misc/ping`], { timeoutMs: 20_000 });
      expect(res.stdout).toBe('200');
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('removing a component from the spec and running up again deletes exactly its objects', async () => {
    const before = await objects();
    const without = parse(readFileSync(spec, 'utf8'));
    without.environments = { ...(without.environments ?? {}), kind: { ...(without.environments?.kind ?? {}), components: { ...(without.environments?.kind?.components ?? {}), pgadmin: { enabled: false } } } };
    const file = join(dir, 'stack-without-pgadmin.yaml');
    writeFileSync(file, toYaml([without]));
    const r = await up(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed \(no longer in the spec\): /);
    const after = await objects();
    const gone = [...before.keys()].filter((k) => !after.has(k)).sort();
    expect(gone).toEqual(['ConfigMap/pgadmin-servers', 'Deployment/pgadmin', 'NetworkPolicy/pgadmin', 'Service/pgadmin']);
    // Everything else is the same object (same uid): updated in place, not recreated.
    for (const [k, uid] of after) expect(before.get(k), k).toBe(uid);
    spec = file;
  });

  it('down removes the stack and keeps its data; up brings the same rows back', async () => {
    const d = await cli(['down', '--spec', spec], 300_000);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toMatch(/kept namespace runtime-laptop, 2 claim\(s\) \(data-postgres-0, data-redis-0\) and the Secrets/);
    const left = await objects();
    expect([...left.keys()].filter((k) => !/^(PersistentVolumeClaim|Secret)\//.test(k))).toEqual([]);
    const claims = await kube.items(['-n', NS, 'get', 'pvc']);
    expect(claims.map((c) => `${c.metadata.name}:${c.status.phase}`).sort()).toEqual(['data-postgres-0:Bound', 'data-redis-0:Bound']);
    const again = await up();
    expect(again.code, again.stderr).toBe(0);
    expect(await count()).toBe(25);
  });

  it('stackport dev: a live update reaches the running API as Tilt makes it (tar into the container), and the API reloads it', async () => {
    // The dev spec: the stack with the API built from the example app, syncing app/, run by uvicorn --reload.
    cpSync(join(ROOT, 'examples', 'dataplatform-app'), join(dir, 'dataplatform-app'), { recursive: true });
    const devSpec = parse(readFileSync(spec, 'utf8'));
    devSpec.components.api = {
      ...devSpec.components.api,
      command: ['uvicorn', 'app.main:app', '--host', '0.0.0.0', '--port', '8000', '--reload'],
      build: { context: 'dataplatform-app', target: 'api', sync: [{ from: 'dataplatform-app/app', to: '/srv/dataplatform/app' }] },
    };
    writeFileSync(join(dir, 'dev.yaml'), toYaml([devSpec]));
    const d = await run('node', [join(ROOT, 'bin', 'stackport.js'), 'dev', 'kind', '--spec', 'dev.yaml', '--no-tilt'], { cwd: dir, timeoutMs: 120_000 });
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('syncs dataplatform-app/app -> /srv/dataplatform/app');

    // The API's Deployment as Tilt deploys it (the rest of the dev manifests is what up applied, with other images).
    const docs = parseAllDocuments(readFileSync(join(dir, '.stackport', 'dev', 'kind', 'dataplatform.k8s.yaml'), 'utf8')).map((x) => x.toJS());
    const deployment = docs.find((o) => o?.kind === 'Deployment' && o.metadata.name === 'api');
    await kube.ok(['apply', '--server-side', '--field-manager=tilt', '--force-conflicts', '-f', '-'], { input: JSON.stringify(deployment) });
    await kube.ok(['-n', NS, 'rollout', 'status', 'deployment/api', '--timeout=240s'], { timeoutMs: 260_000 });
    const pods = (await kube.items(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=api'])).filter(
      (p) => !p.metadata.deletionTimestamp && p.spec.initContainers?.some((c: any) => c.name === 'live-sync-seed'),
    );
    expect(pods).toHaveLength(1);
    const pod = pods[0].metadata.name;
    expect(pods[0].spec.containers[0].securityContext.readOnlyRootFilesystem).toBe(true);

    // A changed main.py with one more route, sent as Tilt sends it: a tar archive extracted by `tar -C / -x -f -` in the
    // container, as its uid. The archive holds the synced folder itself, the entry tar cannot take on a root-owned mount.
    const token = `synced-${Date.now()}`;
    const tree = join(dir, 'sync');
    mkdirSync(join(tree, 'srv', 'dataplatform'), { recursive: true });
    cpSync(join(dir, 'dataplatform-app', 'app'), join(tree, 'srv', 'dataplatform', 'app'), { recursive: true });
    appendFileSync(join(tree, 'srv', 'dataplatform', 'app', 'main.py'), `\n\n@app.get("/live-sync")\ndef live_sync() -> dict:\n    return {"token": "${token}"}\n`);
    const sync = await run(info.nodeExec, ['sh', '-c', `tar -C "$1" -c srv/dataplatform/app | "$2" --kubeconfig "$3" -n "$4" exec -i "$5" -c api -- tar -C / -x -f -`, 'sync', tree, info.kubectl, info.kubeconfig, NS, pod], { timeoutMs: 60_000 });
    expect(sync.code, sync.stderr).toBe(0);
    let answer = { status: 0, body: '' };
    await waitUntil('the reloaded API answers /live-sync', async () => ((answer = await httpFrom(kube, NS, pod, 'http://127.0.0.1:8000/live-sync')).status === 200 ? [] : [`200, not ${answer.status}`]), () => diagnostics(kube, NS), 60);
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ token }) });
    // Only the synced folder is a writable mount; the root filesystem stays read-only.
    const mounts = await shIn(kube, NS, pod, `awk '$2 == "/" || $2 == "/srv/dataplatform/app" {print $2, substr($4, 1, 2)}' /proc/mounts`);
    expect(mounts.split('\n').sort()).toEqual(['/ ro', '/srv/dataplatform/app rw']);
  });
});

/** A command on PATH that records its arguments in `calls` and runs the `case` branch of its first argument. */
function standInTool(dir: string, name: string, calls: string, branches: string[]): void {
  const script = ['#!/bin/sh', 'set -eu', `echo "${name} $*" >> "${calls}"`, 'case "$1" in', ...branches.map((b) => `  ${b}`), `  *) echo "${name} stand-in: $1 is not done here" >&2; exit 2 ;;`, 'esac', ''];
  writeFileSync(join(dir, name), script.join('\n'), { mode: 0o755 });
}

/**
 * `stackport up kind` on the stack's own cluster, which is the one that builds and loads images:
 * kind and Docker cannot run here, so `docker` and `kind` on PATH do what those commands do with
 * the tools this machine has. `docker build` is `buildah bud` with the same arguments; `kind load
 * docker-image` saves the image as a docker archive and imports it into the node's containerd as kind
 * does inside its node (`ctr --namespace=k8s.io images import --all-platforms --digests`). The
 * cluster is the runtime node under the context name kind gives the stack's cluster.
 */
describe('stackport up on its own kind cluster: images built from source and loaded into the node', () => {
  const BUILD_NS = 'runtime-laptop-build';
  afterAll(async () => {
    await kube.kubectl(['delete', 'namespace', BUILD_NS, '--ignore-not-found', '--wait=false']);
  });

  it("builds the component's image from its Dockerfile, loads it into the node's containerd, and the pod runs it", async () => {
    await kube.kubectl(['delete', 'namespace', BUILD_NS, '--ignore-not-found', '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
    const work = mkdtempSync(join(dir, 'build-'));
    const token = `built-${Date.now()}`;
    const busybox = join(execFileSync('bash', [join(ROOT, 'scripts', 'node', 'images.sh'), '--print-dir'], { encoding: 'utf8' }).trim(), 'busybox.tar');
    mkdirSync(join(work, 'hello'));
    writeFileSync(join(work, 'hello', 'index.html'), `${token}\n`);
    writeFileSync(join(work, 'hello', 'Dockerfile'), [`FROM docker-archive:${busybox}`, 'COPY index.html /www/index.html', 'ENTRYPOINT ["httpd", "-f", "-p", "8080", "-h", "/www"]', ''].join('\n'));
    writeFileSync(
      join(work, 'stack.yaml'),
      toYaml([{ apiVersion: 'stackport.dev/v1alpha1', name: 'laptop-build', namespace: BUILD_NS, components: { hello: { kind: 'web', image: 'stackport.local/laptop-hello:dev', port: 8080, healthPath: '/', build: { context: 'hello' } } } }]),
    );
    // The kube context kind writes for the stack's cluster, on the runtime node.
    const kubeconfig = join(work, 'kubeconfig');
    cpSync(info.kubeconfig, kubeconfig);
    execFileSync(join(binDir(), 'kubectl'), ['--kubeconfig', kubeconfig, 'config', 'rename-context', CONTEXT, 'kind-laptop-build'], { stdio: 'pipe' });

    const tools = join(work, 'tools');
    mkdirSync(tools);
    const calls = join(work, 'calls');
    const buildah = `buildah --root "${join(work, 'buildah')}" --runroot "${join(work, 'buildah-run')}" --storage-driver vfs`;
    standInTool(tools, 'docker', calls, ['version) echo 27.3.1 ;;', `build) shift; exec ${buildah} bud --quiet "$@" ;;`]);
    standInTool(tools, 'kind', calls, [
      'version) echo "kind v0.27.0 go1.24.0 linux/amd64" ;;',
      'load)',
      '  [ "$2" = docker-image ] && [ "$4" = --name ] && [ "$5" = laptop-build ] || { echo "kind stand-in: unexpected $*" >&2; exit 2; }',
      `  archive="${join(work, 'image.tar')}"`,
      `  ${buildah} push --quiet "$3" "docker-archive:$archive:$3"`,
      `  "${join(info.stateDir, 'bin', 'ctr')}" images import --all-platforms --digests - < "$archive"`,
      '  ;;',
    ]);

    const r = await run(
      info.nodeExec,
      ['node', join(ROOT, 'bin', 'stackport.js'), 'up', 'kind', '--spec', 'stack.yaml', '--kubeconfig', kubeconfig, '--skip-addon', 'cloud-provider-kind', '--skip-addon', 'cert-manager', '--skip-missing', '--timeout', '240'],
      { cwd: work, timeoutMs: 360_000, env: { ...process.env, PATH: `${tools}:${binDir()}:${process.env.PATH}`, KUBECONFIG: '' } },
    );
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe('context: kind-laptop-build');
    expect(r.stderr).toContain('images: building stackport.local/laptop-hello:dev for hello');
    expect(readFileSync(calls, 'utf8').split('\n').filter((l) => !/ version/.test(l) && l)).toEqual([
      `docker build -t stackport.local/laptop-hello:dev -f ${join(work, 'hello', 'Dockerfile')} ${join(work, 'hello')}`,
      'kind load docker-image stackport.local/laptop-hello:dev --name laptop-build',
    ]);

    // The pod runs the image just built: one that this import put into containerd (kind's --digests import
    // names it import-<date>@<digest> beside the tag), serving the file of this build.
    const listed = (await run(join(info.stateDir, 'bin', 'ctr'), ['images', 'ls'], { timeoutMs: 30_000 })).stdout;
    expect(listed).toMatch(/^stackport\.local\/laptop-hello:dev\s/m);
    const pods = await kube.items(['-n', BUILD_NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=hello']);
    expect(pods).toHaveLength(1);
    expect(pods[0].status.containerStatuses[0].image).toMatch(/stackport\.local\/laptop-hello:dev$/);
    const running: string = pods[0].status.containerStatuses[0].imageID;
    const digest = /sha256:[0-9a-f]{64}$/.exec(running)?.[0];
    expect(digest, running).toBeDefined();
    expect(listed.split('\n').filter((l) => l.includes(digest!)).length, `${running} not in\n${listed}`).toBeGreaterThan(0);
    expect(await shIn(kube, BUILD_NS, pods[0].metadata.name, 'wget -qO- http://127.0.0.1:8080/')).toBe(token);
  });
});

