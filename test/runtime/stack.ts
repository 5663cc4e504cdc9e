/**
 * Deploying a synthesized stack on the real node and talking to it from inside its pods.
 *
 * Images: the application images and the PostgreSQL and Redis stand-ins come from
 * scripts/images/build.sh (references read from its manifest, images.tsv) and are wired in with the
 * spec's own image overrides (`withImages`, as `--image` does). Components whose real image cannot
 * be built here (pgAdmin, every imported service) run the connectivity stand-in: `standIn` rewrites
 * their containers in the synthesized files, and nothing else is changed.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { toYaml } from '../../charts/yaml';

import { synthesize } from '../../charts/synth';
import { applyEnvironment, missingApis, readDist } from '../../ops/apply';
import { storeKeys, writeSecrets } from '../../ops/secrets';
import { withImages } from '../../model/images';
import { resolveStack } from '../../model/presets';
import type { EnvironmentName, StackSpec } from '../../model/schema';
import type { Kube } from '../cluster/kube';
import { BUSYBOX, diagnostics, waitUntil } from './node';
import type { NodeInfo } from './node';

const IMAGES_TSV = join(process.env.STACKPORT_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'stackport'), 'images', 'images.tsv');

/** The reference of an image built by scripts/images/build.sh (e.g. postgres-standin). */
export function builtImage(name: string): string {
  const line = readFileSync(IMAGES_TSV, 'utf8')
    .split('\n')
    .find((l) => l.split('\t')[0] === name);
  if (!line) throw new Error(`${IMAGES_TSV} lists no image "${name}": run scripts/images/build.sh`);
  return line.split('\t')[1];
}

/** PostgreSQL and Redis stand-ins for every server component of the spec, as image overrides. */
export function standInImages(spec: StackSpec): string[] {
  return Object.entries(spec.components).flatMap(([name, c]) => {
    if (c.kind === 'postgres' && !c.external) return [`${name}=${builtImage('postgres-standin')}`];
    if (c.kind === 'redis' && !c.external) return [`${name}=${builtImage('redis-standin')}`];
    return [];
  });
}

type Obj = Record<string, any>;

function podSpecOf(o: Obj): Obj | undefined {
  return o.spec?.template?.spec ?? o.spec?.jobTemplate?.spec?.template?.spec;
}

/** Every image the node has: what scripts/images/build.sh and scripts/node/images.sh built. */
export function localImages(): Set<string> {
  const built = readFileSync(IMAGES_TSV, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t')[1]);
  return new Set([...built, BUSYBOX]);
}

/**
 * Replaces the containers of the named components, and any init container whose image the node
 * does not have, by the connectivity stand-in: it listens on the container's ports, answers any
 * HTTP probe path and dials what the environment names, plus `dials[component]` (host:port, passed
 * with --dial). Run-once pods (Jobs, CronJobs, init containers) get --once. Exec probes
 * need the real image and become TCP probes on the first port (or are dropped when there is none).
 */
export function standIn(objects: Obj[], components: string[], dials: Record<string, string[]> = {}): Obj[] {
  const image = builtImage('connectivity');
  const local = localImages();
  const wanted = new Set(components);
  return objects.map((o) => {
    const pod = podSpecOf(o);
    if (!pod) return o;
    const name: string = (o.spec?.template ?? o.spec?.jobTemplate?.spec?.template)?.metadata?.labels?.['app.kubernetes.io/name'];
    const whole = wanted.has(name);
    const runOnce = o.kind === 'Job' || o.kind === 'CronJob';
    const rewrite = (c: Obj, once: boolean, extra: string[]): Obj => {
      const ports: number[] = (c.ports ?? []).map((p: Obj) => p.containerPort);
      const probe = (p: Obj | undefined) => {
        if (!p?.exec) return p;
        const { exec: _exec, ...rest } = p;
        return ports.length > 0 ? { ...rest, tcpSocket: { port: ports[0] } } : undefined;
      };
      const { args: _args, ...kept } = c;
      return {
        ...kept,
        image,
        imagePullPolicy: 'IfNotPresent',
        command: [
          '/connectivity',
          ...(ports.length > 0 ? ['--listen', ports.join(',')] : []),
          ...(extra.length > 0 ? ['--dial', extra.join(',')] : []),
          // The relations are what is checked; other hosts the environment names are only reported.
          '--require',
          'dial',
          ...(once ? ['--once', '--deadline', '180s'] : []),
        ],
        livenessProbe: probe(c.livenessProbe),
        readinessProbe: probe(c.readinessProbe),
        startupProbe: probe(c.startupProbe),
        lifecycle: undefined,
      };
    };
    if (!whole && (pod.initContainers ?? []).every((c: Obj) => local.has(c.image))) return o;
    const out = structuredClone(o);
    const target = podSpecOf(out)!;
    if (whole) target.containers = pod.containers.map((c: Obj) => rewrite(c, runOnce, dials[name] ?? []));
    if (pod.initContainers) target.initContainers = pod.initContainers.map((c: Obj) => (whole || !local.has(c.image) ? rewrite(c, true, []) : c));
    return JSON.parse(JSON.stringify(out));
  });
}

export interface Deployment {
  namespace: string;
  /** Seconds from the start of `ops/apply.ts` to every workload Ready and every Job complete. */
  readySeconds: number;
  log: string[];
}

export interface StackOptions {
  /** Components to run as the connectivity stand-in. */
  connectivity?: string[];
  /** More image overrides (COMPONENT=REF); they replace the stand-in of the same component. */
  images?: string[];
  /** host:port each stand-in component also dials (its relations). */
  dials?: Record<string, string[]>;
  readySeconds?: number;
}

/**
 * Synthesizes `spec` for `env` into `dir` with the stand-in images, puts the connectivity stand-in
 * in place of `connectivity` components (and of init containers whose image the node lacks), and
 * applies it with ops/apply.ts (--skip-missing: the node runs no cert-manager, Gateway API or
 * prometheus-operator). Applying again into the same `dir` is a redeploy: the Secrets written the
 * first time are kept. Returns the namespace.
 */
export function applyStack(info: NodeInfo, spec: StackSpec, env: EnvironmentName, dir: string, opts: StackOptions = {}, log: (l: string) => void = () => {}): string {
  const withStandIns = synthesizeForNode(spec, env, dir, opts);
  applyEnvironment({
    environment: env,
    spec: withStandIns,
    dist: join(dir, 'dist'),
    secretsFile: join(dir, 'secrets.yaml'),
    kubectl: info.kubectl,
    kubeconfig: info.kubeconfig,
    skipMissing: true,
    log,
  });
  return resolveStack(withStandIns, env).namespace;
}

/** Synthesizes `spec` for `env` into DIR/dist with the stand-in images and components; returns the spec as synthesized. */
function synthesizeForNode(spec: StackSpec, env: EnvironmentName, dir: string, opts: StackOptions): StackSpec {
  const own = new Set((opts.images ?? []).map((a) => a.split('=')[0]));
  const withStandIns = withImages(spec, [...standInImages(spec).filter((a) => !own.has(a.split('=')[0])), ...(opts.images ?? [])], 'runtime test');
  synthesize(withStandIns, join(dir, 'dist'), [env]);
  const envDir = join(dir, 'dist', env);
  for (const f of readdirSync(envDir).filter((f) => f.endsWith('.k8s.yaml'))) {
    const docs = parseAllDocuments(readFileSync(join(envDir, f), 'utf8')).map((d) => d.toJSON()).filter(Boolean);
    writeFileSync(join(envDir, f), toYaml(standIn(docs, opts.connectivity ?? [], opts.dials)));
  }
  return withStandIns;
}

/**
 * applyStack for a stack whose namespace does not exist yet, in one kubectl call: the Namespace, the
 * Secrets as ops/apply.ts makes them (ops/secrets.ts) and every object whose API is in `served`.
 * ops/apply.ts's other steps act on a running stack (stateful changes, rotated passwords, the prune)
 * and have nothing to do here, but cost six more kubectl processes: for the fifty cases of the
 * corpus, more CPU than their pods' own programs. Stacks whose Secrets come from a store or a sealed
 * file go through applyStack.
 */
export async function applyNewStack(kube: Kube, info: NodeInfo, served: Set<string>, spec: StackSpec, env: EnvironmentName, dir: string, opts: StackOptions = {}): Promise<string> {
  if (resolveStack(spec, env).sealedSecrets || storeKeys(spec, env)) return applyStack(info, spec, env, dir, opts);
  const withStandIns = synthesizeForNode(spec, env, dir, opts);
  const objects = readDist(join(dir, 'dist', env));
  const missing = new Set([...missingApis(objects, served).values()].flat());
  const secrets = writeSecrets(withStandIns, env, join(dir, 'secrets.yaml')).objects;
  const namespaces = objects.filter((o) => o.kind === 'Namespace');
  const items = [...namespaces, ...secrets, ...objects.filter((o) => o.kind !== 'Namespace' && !missing.has(o))];
  await kube.ok(['apply', '--server-side', '--field-manager=stackport', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), timeoutMs: 120_000 });
  return resolveStack(withStandIns, env).namespace;
}

/** applyStack, then every workload Ready and every Job complete. */
export async function deployStack(kube: Kube, info: NodeInfo, spec: StackSpec, env: EnvironmentName, dir: string, opts: StackOptions = {}): Promise<Deployment> {
  const t0 = Date.now();
  const log: string[] = [];
  const namespace = applyStack(info, spec, env, dir, opts, (l) => log.push(l));
  await waitStackReady(kube, namespace, opts.readySeconds ?? 420);
  return { namespace, readySeconds: Math.round((Date.now() - t0) / 100) / 10, log };
}

/** What is not up yet: workloads short of ready replicas, Jobs not complete. */
export async function notReady(kube: Kube, namespace: string): Promise<string[]> {
  return notReadyOf(await kube.items(['-n', namespace, 'get', 'deployments,statefulsets,jobs']));
}

/** notReady of the Deployments, StatefulSets and Jobs of one namespace, as listed by kubectl. */
export function notReadyOf(items: Obj[]): string[] {
  const missing: string[] = [];
  for (const o of items) {
    const want = o.spec.replicas ?? 1;
    if (o.kind === 'Job') {
      if (o.metadata.ownerReferences?.some((r: Obj) => r.kind === 'CronJob')) continue;
      if (!(o.status?.conditions ?? []).some((c: Obj) => c.type === 'Complete' && c.status === 'True')) missing.push(`Job/${o.metadata.name} complete`);
    } else if ((o.status?.readyReplicas ?? 0) < want || (o.status?.updatedReplicas ?? 0) < want) {
      missing.push(`${o.kind}/${o.metadata.name} ${o.status?.readyReplicas ?? 0}/${want} ready`);
    }
  }
  if (items.length === 0) missing.push('any workload');
  return missing;
}

export async function waitStackReady(kube: Kube, namespace: string, seconds: number): Promise<number> {
  return waitUntil(`the stack in ${namespace} up`, () => notReady(kube, namespace), () => diagnostics(kube, namespace), seconds);
}

/** The name of a Running pod of a component (its app.kubernetes.io/name). */
export async function podOf(kube: Kube, namespace: string, component: string): Promise<string> {
  const pods = await kube.items(['-n', namespace, 'get', 'pods', '-l', `app.kubernetes.io/name=${component}`, '--field-selector=status.phase=Running']);
  const ready = pods.filter((p) => !p.metadata.deletionTimestamp);
  if (ready.length === 0) throw new Error(`no running pod of ${component} in ${namespace}`);
  return ready[0].metadata.name;
}

/** Runs a Python program in a pod of an image that has Python (the application's images). */
export async function python(kube: Kube, namespace: string, pod: string, program: string, args: string[] = [], timeoutMs = 60_000): Promise<string> {
  const r = await kube.kubectl(['-n', namespace, 'exec', pod, '--', 'python', '-c', program, ...args], { timeoutMs });
  if (r.code !== 0) throw new Error(`python in ${namespace}/${pod} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  return r.stdout.trim();
}

const DIAL = `
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()
    print("connected")
except Exception as e:
    print(f"failed: {type(e).__name__}: {e}")
`;

/** One TCP connection attempt from a pod: true when it connected. */
export async function dial(kube: Kube, namespace: string, pod: string, host: string, port: number, timeoutSeconds = 3): Promise<boolean> {
  const out = await python(kube, namespace, pod, DIAL, [host, String(port), String(timeoutSeconds)]);
  return out === 'connected';
}

const GET = `
import json, sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        print(json.dumps({"status": r.status, "body": r.read().decode()}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": e.read().decode()}))
`;

/** An HTTP GET from inside a pod: status and body. */
export async function httpFrom(kube: Kube, namespace: string, pod: string, url: string): Promise<{ status: number; body: string }> {
  return JSON.parse(await python(kube, namespace, pod, GET, [url]));
}

/**
 * The first answer of a Service to a request from a pod, right after its pods became Ready: kube-proxy
 * programs the endpoint a moment later, up to seconds under load, and a connection meanwhile is
 * refused. Waits up to `seconds` and says how long it took.
 */
export async function serviceAnswer(kube: Kube, namespace: string, from: string, url: string, seconds = 30): Promise<{ status: number; body: string; waited: number }> {
  let answer: { status: number; body: string } | undefined;
  const waited = await waitUntil(`${url} answers from ${from}`, async () => ((answer = await httpFrom(kube, namespace, from, url)) ? [] : ['an answer']), () => diagnostics(kube, namespace), seconds);
  return { ...answer!, waited };
}

/** A shell command in a pod; its output, trimmed. */
export async function shIn(kube: Kube, namespace: string, pod: string, script: string): Promise<string> {
  return (await kube.ok(['-n', namespace, 'exec', pod, '--', 'sh', '-c', script], { timeoutMs: 120_000 })).trim();
}

/** redis-cli in redis-0 with the stack's Redis password; its output, trimmed. */
export function redisCli(kube: Kube, namespace: string, args: string): Promise<string> {
  return shIn(kube, namespace, 'redis-0', `REDISCLI_AUTH="$(cat /run/secrets/redis/password)" redis-cli --no-auth-warning ${args}`);
}

/** "count:sum" of the observations in a database of postgres-0: equal fingerprints, equal rows. */
export function rowsFingerprint(kube: Kube, namespace: string, db: string): Promise<string> {
  return shIn(kube, namespace, 'postgres-0', `psql -v ON_ERROR_STOP=1 -U postgres -d ${db} -tAc "select count(*) || ':' || round(sum(value)::numeric, 6) from observations"`);
}

/** Creates Job `name` from `from` (e.g. cronjob/worker), waits until it completes or fails, and returns its status. */
export async function runJob(kube: Kube, namespace: string, name: string, from: string, seconds = 240): Promise<any> {
  await kube.ok(['-n', namespace, 'create', 'job', name, `--from=${from}`]);
  const finished = async () => {
    const j = await kube.json(['-n', namespace, 'get', 'job', name]);
    return (j.status?.conditions ?? []).some((c: Obj) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
  };
  await waitUntil(`Job ${name} finished`, async () => ((await finished()) ? [] : ['finished']), () => diagnostics(kube, namespace), seconds);
  return (await kube.json(['-n', namespace, 'get', 'job', name])).status;
}
