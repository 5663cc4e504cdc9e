/**
 * The edge, TLS and monitoring controllers on the real node: their CRDs (crds/), their manifests
 * (scripts/edge/manifests/, images built by scripts/cluster/build.sh --edge and
 * scripts/node/images.sh --edge), and a client in the node's network namespace (the host's curl run
 * through node-exec) that reaches the edge by the stack's host name with `--resolve`, never through
 * the host's network.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseVersionsFile } from '../../ops/pinned';
import { type Kube, type Result, run, waitCrdsEstablished } from '../cluster/kube';
import { ROOT, diagnostics, waitUntil } from './node';
import type { NodeInfo } from './node';

/** KEY=VALUE lines of the version files the manifests' `${KEY}` placeholders come from. */
function versions(): Record<string, string> {
  return Object.assign({}, ...['scripts/crd-versions.env', 'scripts/cluster/versions.env'].map((f) => parseVersionsFile(readFileSync(join(ROOT, f), 'utf8'))));
}

/** scripts/edge/manifests/NAME.yaml with its placeholders filled in (`extra` adds some); an unknown one is an error. */
export function edgeManifest(name: string, extra: Record<string, string> = {}): string {
  const v = { ...versions(), ...extra };
  const file = `scripts/edge/manifests/${name}.yaml`;
  return readFileSync(join(ROOT, file), 'utf8').replace(/\$\{([A-Z0-9_]+)\}/g, (_, k: string) => {
    if (!(k in v)) throw new Error(`${file}: placeholder \${${k}} is in neither scripts/crd-versions.env nor scripts/cluster/versions.env, nor given`);
    return v[k];
  });
}

export const CRD_FILES = ['gateway.networking.k8s.io', 'traefik.io', 'cert-manager.io', 'monitoring.coreos.com'];

/** The CRDs of the edge and monitoring add-ons (crds/, the pinned upstream files). */
export async function installCRDs(kube: Kube): Promise<void> {
  for (const f of CRD_FILES) await kube.ok(['apply', '--server-side', '--force-conflicts', '-f', join(ROOT, 'crds', `${f}.yaml`)], { timeoutMs: 120_000 });
  await waitCrdsEstablished(kube, CRD_FILES.map(crdOf));
}

/** Where Go's module cache holds MODULE@VERSION (downloaded by scripts/cluster/build.sh --edge). */
function moduleDir(module: string, version: string): string {
  const gomodcache = execFileSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' }).trim();
  const dir = join(gomodcache, `${module}@${version}`);
  if (!existsSync(dir)) throw new Error(`${dir} missing: run scripts/cluster/build.sh --edge (it downloads ${module})`);
  return dir;
}

/**
 * The add-ons' CRDs that a cluster running them has and the stack does not render (crds/ holds only
 * the kinds the stack renders): cert-manager's ACME Orders and Challenges, and prometheus-operator's
 * own kinds (Prometheus, Alertmanager, ...), from the upstream modules at the pinned versions.
 */
export async function installUpstreamCRDs(kube: Kube, which: 'cert-manager' | 'prometheus-operator'): Promise<void> {
  const v = versions();
  const files =
    which === 'cert-manager'
      ? ['acme.cert-manager.io_orders.yaml', 'acme.cert-manager.io_challenges.yaml'].map((f) => join(moduleDir('github.com/cert-manager/cert-manager', v.CERT_MANAGER_VERSION), 'deploy/crds', f))
      : (() => {
          const dir = join(moduleDir('github.com/prometheus-operator/prometheus-operator', v.PROMETHEUS_OPERATOR_VERSION), 'example/prometheus-operator-crd');
          return readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort().map((f) => join(dir, f));
        })();
  for (const f of files) await kube.ok(['apply', '--server-side', '--force-conflicts', '-f', f], { timeoutMs: 120_000 });
  const probe = which === 'cert-manager' ? 'challenges.acme.cert-manager.io' : 'prometheuses.monitoring.coreos.com';
  await waitCrdsEstablished(kube, [probe]);
}

/** Server-side applies of the manifests; waits for their Deployments to be available. */
export async function installEdge(kube: Kube, manifests: string[], extra: Record<string, string> = {}, seconds = 240): Promise<number> {
  const t0 = Date.now();
  for (const m of manifests) await kube.ok(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: edgeManifest(m, extra), timeoutMs: 120_000 });
  const deployments = manifests.flatMap((m) =>
    edgeManifest(m, extra)
      .split(/^---$/m)
      .map((doc) => /^kind: Deployment$/m.test(doc) && { name: /^ {2}name: (\S+)$/m.exec(doc)?.[1], namespace: /^ {2}namespace: (\S+)$/m.exec(doc)?.[1] })
      .filter((d): d is { name: string; namespace: string } => Boolean(d && d.name && d.namespace)),
  );
  for (const d of deployments) {
    await waitUntil(
      `Deployment ${d.namespace}/${d.name} Available`,
      async () => {
        const dep = await kube.json(['-n', d.namespace, 'get', 'deployment', d.name]);
        return (dep.status?.availableReplicas ?? 0) >= 1 ? [] : [`${d.name} available`];
      },
      () => diagnostics(kube, d.namespace),
      seconds,
    );
  }
  return Math.round((Date.now() - t0) / 100) / 10;
}

/** One CRD of each group, to wait for. */
function crdOf(group: string): string {
  return {
    'gateway.networking.k8s.io': 'httproutes.gateway.networking.k8s.io',
    'traefik.io': 'middlewares.traefik.io',
    'cert-manager.io': 'certificates.cert-manager.io',
    'monitoring.coreos.com': 'servicemonitors.monitoring.coreos.com',
  }[group]!;
}

/** The local CA's certificate, as `stackport up` tells users to export it, written to FILE. */
export async function exportLocalCA(kube: Kube, file: string): Promise<string> {
  const b64 = await kube.ok(['-n', 'cert-manager', 'get', 'secret', 'stackport-local-ca', '-o', 'jsonpath={.data.ca\\.crt}']);
  const pem = Buffer.from(b64.trim(), 'base64').toString('utf8');
  writeFileSync(file, pem);
  return pem;
}

export interface CurlResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** curl's exit code: 0, or why there was no answer (60: the certificate did not verify). */
  exit: number;
  stderr: string;
}

/**
 * curl in the node's network namespace: `url`'s host resolved to `address` (--resolve), the
 * certificate verified against `caFile`. Headers are lower-cased.
 */
export async function curl(info: NodeInfo, url: string, address: string, caFile: string, extra: string[] = [], timeoutSeconds = 10): Promise<CurlResult> {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const args = ['curl', '-sS', '--max-time', String(timeoutSeconds), '--resolve', `${u.hostname}:${port}:${address}`, '--cacert', caFile, '-D', '-', ...extra, url];
  const r: Result = await runIn(info, args, (timeoutSeconds + 15) * 1000);
  const [head, ...rest] = r.stdout.split(/\r\n\r\n/);
  const lines = head.split(/\r\n/);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers, body: rest.join('\r\n\r\n'), exit: r.code, stderr: r.stderr };
}

/** `n` requests to `url` at once from one client (curl --parallel): the status codes, counted. */
export async function burst(info: NodeInfo, url: string, address: string, caFile: string, n: number): Promise<Record<string, number>> {
  const u = new URL(url);
  const args = ['curl', '-sS', '--parallel', '--parallel-immediate', '--parallel-max', String(n), '--max-time', '20', '--resolve', `${u.hostname}:443:${address}`, '--cacert', caFile];
  for (let i = 0; i < n; i++) args.push('-o', '/dev/null', '-w', '%{http_code}\\n', url);
  const r = await runIn(info, args, 60_000);
  const counts: Record<string, number> = {};
  for (const code of r.stdout.split('\n').filter(Boolean)) counts[code] = (counts[code] ?? 0) + 1;
  return counts;
}

function runIn(info: NodeInfo, args: string[], timeoutMs: number): Promise<Result> {
  return run(info.nodeExec, args, { timeoutMs });
}

/** A Prometheus HTTP API answer, asked from inside the node's network. */
export async function prometheusApi(info: NodeInfo, kube: Kube, path: string): Promise<any> {
  const ip = (await kube.ok(['-n', 'monitoring', 'get', 'pod', 'prometheus-prometheus-0', '-o', 'jsonpath={.status.podIP}'])).trim();
  const r = await runIn(info, ['curl', '-sS', '--max-time', '10', `http://${ip}:9090${path}`], 30_000);
  if (r.code !== 0) throw new Error(`Prometheus ${path}: curl exit ${r.code}: ${r.stderr}`);
  const j = JSON.parse(r.stdout);
  if (j.status !== 'success') throw new Error(`Prometheus ${path}: ${r.stdout.slice(0, 400)}`);
  return j.data;
}
