/**
 * The edge, TLS and monitoring run for real: Traefik (k3s's Ingress controller, and a Gateway API
 * implementation), cert-manager with its webhook and CA injector, and prometheus-operator with one
 * Prometheus, all built from Go modules (scripts/cluster/build.sh --edge) and installed from
 * scripts/edge/manifests. Two copies of the reference stack use them: k3d's output (Ingresses and
 * Traefik Middlewares) and kind's (a Gateway and HTTPRoutes; GatewayClass `traefik` through the
 * spec's environment override, since cloud-provider-kind cannot run here).
 *
 * On both, the rate limit, compression and security headers are Traefik Middlewares: k3d's Ingresses
 * name them in annotations, kind's HTTPRoutes in ExtensionRef filters (the class `traefik` row of
 * the rate-limit table).
 *
 * Every request comes from curl in the node's network namespace, with the stack's host name resolved
 * to the edge's address (--resolve) and the local CA exported from the cluster, as `stackport up`
 * tells users to do.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../cluster/kube';
import { referenceStack } from '../../model/reference';
import type { EnvironmentName, StackSpec } from '../../model/schema';
import { burst, curl, exportLocalCA, installCRDs, installEdge, installUpstreamCRDs, prometheusApi } from './edge';
import { diagnostics, node, waitUntil } from './node';
import { synthesize } from '../../charts/synth';
import { toYaml } from '../../charts/yaml';
import { parseAllDocuments } from 'yaml';
import { deployStack, shIn } from './stack';

const { info, kube } = node();
const dirs: string[] = [];
const K3D = { ns: 'edge-k3d', host: 'k3d.edge.localtest.me' };
const KIND = { ns: 'edge-kind', host: 'kind.edge.localtest.me' };
// prod under a stack name of its own: its ClusterIssuer (cluster-scoped, named after the stack) must
// not be the one environments.test.ts applies for the reference prod stack at the same time.
const PROD = { ns: 'edge-prod', host: 'prod.edge.example', name: 'edgeprod' };
let caFile = '';
/** prod's issuance, started in beforeAll: what the prod test checks, or why it failed. */
let prodIssuance: Promise<ProdIssuance | Error>;
let traefikIP = '';
let gatewayIP = '';

/** The reference stack in its own namespace and host; pgAdmin left out (it is not routed). */
function edgeSpec(env: EnvironmentName, ns: string, host: string, edge: Record<string, unknown> = {}): StackSpec {
  const own = referenceStack.environments?.[env] ?? {};
  return {
    ...referenceStack,
    namespace: ns,
    environments: {
      ...referenceStack.environments,
      [env]: { ...own, edge: { ...own.edge, host, ...edge }, components: { ...own.components, pgadmin: { enabled: false } } },
    },
  } as StackSpec;
}

async function certificateReady(ns: string, name: string, seconds = 180): Promise<number> {
  return waitUntil(
    `Certificate ${ns}/${name} Ready`,
    async () => {
      const c = await kube.json(['-n', ns, 'get', 'certificate', name]);
      return (c.status?.conditions ?? []).some((x: any) => x.type === 'Ready' && x.status === 'True') ? [] : [`${name} Ready`];
    },
    async () => `${await diagnostics(kube, ns)}\n${(await kube.kubectl(['-n', ns, 'describe', 'certificate,certificaterequest'])).stdout}\n${(await kube.kubectl(['-n', 'cert-manager', 'logs', 'deploy/cert-manager', '--tail=30'])).stdout}`,
    seconds,
  );
}

/** The serial number of the certificate the edge presents for `host`. */
async function servedSerial(host: string, address: string): Promise<string> {
  const r = await run(info.nodeExec, ['sh', '-c', `openssl s_client -connect ${address}:443 -servername ${host} </dev/null 2>/dev/null | openssl x509 -noout -serial`], { timeoutMs: 30_000 });
  return r.stdout.trim();
}

beforeAll(async () => {
  const t0 = Date.now();
  await installCRDs(kube);
  await Promise.all([installUpstreamCRDs(kube, 'cert-manager'), installUpstreamCRDs(kube, 'prometheus-operator')]);
  // Traefik's Service at a fixed address of the node's Service range (.0.80), which Gateways report.
  const edgeAddress = info.serviceCIDR.replace(/^(\d+\.\d+)\..*$/, '$1.0.80');
  const installSeconds = await installEdge(kube, ['traefik', 'cert-manager'], { EDGE_ADDRESS: edgeAddress, ACME_HOST: PROD.host });
  console.log(`edge: CRDs and controllers installed and available in ${installSeconds}s`);
  traefikIP = (await kube.ok(['-n', 'kube-system', 'get', 'service', 'traefik', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
  expect(traefikIP).toBe(edgeAddress);
  for (const s of [K3D, KIND]) {
    await kube.kubectl(['delete', 'namespace', s.ns, '--ignore-not-found', '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });
    dirs.push(mkdtempSync(join(tmpdir(), 'stackport-runtime-edge-')));
  }
  // cert-manager's webhook must answer before the stacks' Certificates can be applied.
  await waitUntil(
    'the cert-manager webhook admits a Certificate',
    async () => {
      const probe = { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'webhook-probe', namespace: 'cert-manager' }, spec: { secretName: 'webhook-probe', dnsNames: ['probe.invalid'], issuerRef: { name: 'none', kind: 'ClusterIssuer' } } };
      const r = await kube.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: JSON.stringify(probe) });
      return r.code === 0 ? [] : [r.stderr.trim()];
    },
    () => diagnostics(kube, 'cert-manager'),
    120,
  );
  // prod's ACME issuance takes its own time (solver pod, cert-manager's and Pebble's checks): it
  // runs while the other stacks come up and is judged by the prod test at the end.
  prodIssuance = issueProdCertificate().catch((e: Error) => e);
  // deployStack applies before its first await: the stacks' objects exist once both calls return.
  const stacks = Promise.all([
    deployStack(kube, info, edgeSpec('k3d', K3D.ns, K3D.host), 'k3d', dirs[0]),
    deployStack(kube, info, edgeSpec('kind', KIND.ns, KIND.host, { className: 'traefik' }), 'kind', dirs[1]),
  ]);
  // Prometheus starts after the stacks' ServiceMonitors and PrometheusRule exist, so its first
  // configuration has them: a later change reaches its pod only when the kubelet next syncs the
  // configuration Secret's volume (a minute or more).
  const monitoring = installEdge(kube, ['monitoring']);
  const [[k3d, kind], monitoringSeconds] = await Promise.all([stacks, monitoring]);
  console.log(`edge: stacks Ready, k3d in ${k3d.readySeconds}s, kind in ${kind.readySeconds}s; prometheus-operator available in ${monitoringSeconds}s`);
  const tCert = Date.now();
  await Promise.all([certificateReady(K3D.ns, 'dataplatform-tls'), certificateReady(KIND.ns, 'dataplatform-tls')]);
  console.log(`edge: both stack certificates Ready ${Math.round((Date.now() - tCert) / 100) / 10}s after the stacks (${Math.round((Date.now() - t0) / 1000)}s from the start)`);
  caFile = join(dirs[0], 'stackport-ca.crt');
  await exportLocalCA(kube, caFile);
  gatewayIP = await waitUntil(
    'the kind Gateway programmed, with an address',
    async () => {
      const g = await kube.json(['-n', KIND.ns, 'get', 'gateway', 'dataplatform']);
      const programmed = (g.status?.conditions ?? []).some((c: any) => c.type === 'Programmed' && c.status === 'True');
      return programmed && g.status?.addresses?.[0]?.value ? [] : ['Programmed with an address'];
    },
    () => diagnostics(kube, KIND.ns),
    120,
  ).then(async () => (await kube.json(['-n', KIND.ns, 'get', 'gateway', 'dataplatform'])).status.addresses[0].value);
});

afterAll(async () => {
  await kube.kubectl(['delete', 'namespace', K3D.ns, KIND.ns, PROD.ns, 'pebble', '--ignore-not-found', '--wait=false']);
  await kube.kubectl(['delete', 'clusterissuer', `${PROD.name}-acme`, '--ignore-not-found']);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Waits until the edge routes `url` (a new route or certificate takes Traefik a moment). */
async function routed(url: string, address: string, status = 200): Promise<void> {
  await waitUntil(
    `${url} answers ${status} through the edge`,
    async () => {
      const r = await curl(info, url, address, caFile);
      return r.status === status ? [] : [`status ${r.status} (curl exit ${r.exit}: ${r.stderr.trim()})`];
    },
    async () => (await kube.kubectl(['-n', 'kube-system', 'logs', 'deploy/traefik', '--tail=30'])).stdout,
    90,
  );
}

describe.each([
  { env: 'k3d', s: K3D, address: () => traefikIP },
  { env: 'kind', s: KIND, address: () => gatewayIP },
])('$env edge', ({ s, address }) => {
  it('answers https://<host>/api/health with a certificate of the exported local CA naming the host; http:// redirects to https://', async () => {
    await routed(`https://${s.host}/api/health`, address());
    const ok = await curl(info, `https://${s.host}/api/health`, address(), caFile);
    expect(ok.exit).toBe(0);
    expect(ok.status).toBe(200);
    // The same request trusting only the system's CAs fails verification: the chain is the local CA's.
    const system = await curl(info, `https://${s.host}/api/health`, address(), '/etc/ssl/certs/ca-certificates.crt');
    expect(system.exit).toBe(60);
    // A name the certificate does not carry is refused by curl's host check.
    const other = await curl(info, `https://other.localtest.me/api/health`, address(), caFile);
    expect(other.exit).not.toBe(0);
    const http = await curl(info, `http://${s.host}/api/health`, address(), caFile);
    expect([301, 308]).toContain(http.status);
    expect(http.headers.location).toBe(`https://${s.host}/api/health`);
  });

  it('serves the dashboard at /, upgrades its WebSocket, and keeps the metrics private', async () => {
    const page = await curl(info, `https://${s.host}/`, address(), caFile);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/<title>Streamlit<\/title>/);
    const ws = await curl(info, `https://${s.host}/_stcore/stream`, address(), caFile, [
      '--http1.1',
      '-H', 'Connection: Upgrade',
      '-H', 'Upgrade: websocket',
      '-H', 'Sec-WebSocket-Version: 13',
      '-H', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      '-H', `Origin: https://${s.host}`,
    ], 3);
    expect(ws.status).toBe(101);
    expect(ws.headers.upgrade?.toLowerCase()).toBe('websocket');
    // The API's metrics are only at its own /metrics, which no route reaches: /api/metrics is the
    // API's 404, and /metrics belongs to the dashboard's route (its page, not the exposition).
    const apiMetrics = await curl(info, `https://${s.host}/api/metrics`, address(), caFile);
    expect(apiMetrics.status).toBe(404);
    const metrics = await curl(info, `https://${s.host}/metrics`, address(), caFile);
    expect(metrics.body).not.toMatch(/^# (HELP|TYPE) /m);
    expect(metrics.body).not.toContain('http_requests_total');
  });

  it('rate-limits a burst from one client to 429, compresses when asked, and sends the security headers', async () => {
    // A large answer of the API's, which compresses nothing itself: 3,000 observations.
    await shIn(kube, s.ns, 'postgres-0', `psql -v ON_ERROR_STOP=1 -U postgres -d app -c "insert into series (id, title, units, source) values ('EDGE', 'edge', 'n', 'test') on conflict do nothing; insert into observations (series_id, date, value) select 'EDGE', date '2000-01-01' + i, i from generate_series(1, 3000) i on conflict do nothing"`);
    const url = `https://${s.host}/api/series/EDGE/observations?limit=3000`;
    const plain = await curl(info, url, address(), caFile);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    const gz = await curl(info, url, address(), caFile, ['-H', 'Accept-Encoding: gzip', '-o', '/dev/null']);
    expect(gz.status).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(plain.headers['x-frame-options']).toBe('DENY');
    expect(plain.headers['x-content-type-options']).toBe('nosniff');
    expect(plain.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(plain.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');

    // average 10/s, burst 20: of 40 requests at once, the full bucket (20) passes, plus what refills
    // while the burst lasts, and the rest get 429. Seen: 21/19 alone, 27/13 with the node busy.
    await new Promise((r) => setTimeout(r, 3000)); // the bucket refills from the requests above
    const counts = await burst(info, `https://${s.host}/api/health`, address(), caFile, 40);
    console.log(`edge: 40 requests at once -> ${JSON.stringify(counts)}`);
    expect(counts['429'] ?? 0).toBeGreaterThanOrEqual(1);
    expect(counts['200'] ?? 0).toBeGreaterThanOrEqual(20);
    expect((counts['200'] ?? 0) + (counts['429'] ?? 0)).toBe(40);
  });
});

describe('certificates', () => {
  it('issues the stack certificate again when its Secret is deleted, and HTTPS keeps working', async () => {
    const before = await servedSerial(K3D.host, traefikIP);
    expect(before).toMatch(/^serial=[0-9A-F]+$/);
    const t0 = Date.now();
    await kube.ok(['-n', K3D.ns, 'delete', 'secret', 'dataplatform-tls']);
    await waitUntil(
      'a new certificate served',
      async () => {
        const now = await servedSerial(K3D.host, traefikIP);
        return now && now !== before ? [] : [`serial still ${now || '(none)'}`];
      },
      () => diagnostics(kube, K3D.ns),
      120,
    );
    console.log(`edge: a new certificate served ${Math.round((Date.now() - t0) / 100) / 10}s after its Secret was deleted`);
    await routed(`https://${K3D.host}/api/health`, traefikIP);
  });
});

describe('monitoring', () => {
  it('scrapes the API every 10s through its ServiceMonitor and loads the PrometheusRule', async () => {
    await waitUntil(
      'the API target up in Prometheus',
      async () => {
        const t = await prometheusApi(info, kube, '/api/v1/targets?state=active');
        const api = t.activeTargets.filter((x: any) => x.labels.namespace === K3D.ns && x.labels.job === 'api');
        return api.length > 0 && api.every((x: any) => x.health === 'up') ? [] : [`api targets: ${JSON.stringify(api.map((x: any) => [x.scrapeUrl, x.health, x.lastError]))}`];
      },
      () => diagnostics(kube, 'monitoring'),
      180,
    );
    const t = await prometheusApi(info, kube, '/api/v1/targets?state=active');
    const api = t.activeTargets.filter((x: any) => x.labels.namespace === K3D.ns && x.labels.job === 'api');
    expect(api[0].scrapeInterval).toBe('10s');
    expect(api[0].scrapePool).toBe(`serviceMonitor/${K3D.ns}/api/0`);
    const rules = await prometheusApi(info, kube, '/api/v1/rules');
    const groups = rules.groups.filter((g: any) => g.file.includes(`${K3D.ns}-dataplatform-alerts`));
    expect(groups.length).toBeGreaterThan(0);
    expect(groups.flatMap((g: any) => g.rules.map((r: any) => r.name))).toContain('ApiTargetDown');
  });

  it('makes the API-down alert pending once the API is scaled to 0', async () => {
    /** The state of k3d's ApiTargetDown rule (inactive, pending or firing), from its own group. */
    const state = async () => {
      const rules = await prometheusApi(info, kube, '/api/v1/rules?type=alert');
      const rule = rules.groups.filter((g: any) => g.file.includes(`${K3D.ns}-dataplatform-alerts`)).flatMap((g: any) => g.rules).find((r: any) => r.name === 'ApiTargetDown');
      return rule?.state as string | undefined;
    };
    // While the API is up the rule settles to inactive (it is pending until the first scrape lands).
    await waitUntil('ApiTargetDown inactive while the API is up', async () => ((await state()) === 'inactive' ? [] : [`state ${await state()}`]), () => diagnostics(kube, 'monitoring'), 90);
    await kube.ok(['-n', K3D.ns, 'scale', 'deployment', 'api', '--replicas=0']);
    const t0 = Date.now();
    await waitUntil('ApiTargetDown pending or firing', async () => (['pending', 'firing'].includes((await state()) ?? '') ? [] : [`state ${await state()}`]), () => diagnostics(kube, 'monitoring'), 120);
    console.log(`edge: ApiTargetDown ${await state()} ${Math.round((Date.now() - t0) / 100) / 10}s after the API was scaled to 0`);
  });
});

interface ProdIssuance {
  dir: string;
  /** Seconds from the apply of prod's objects to its Certificate Ready. */
  seconds: number;
}

/**
 * prod as synthesized, with Pebble for Let's Encrypt and Traefik for Envoy Gateway, applied until its
 * Certificate is Ready. Only the objects the issuance involves are applied (namespace, policies,
 * Gateway, routes and their Middlewares, issuer, certificate): the workloads are proven by
 * environments.test.ts. cert-manager resolves the host to the edge through the hostAliases its
 * manifest gets (ACME_HOST), as the public DNS record would.
 */
async function issueProdCertificate(): Promise<ProdIssuance> {
  // Pebble's own HTTPS certificate, from a CA the stack's ClusterIssuer trusts through the spec.
  const dir = mkdtempSync(join(tmpdir(), 'stackport-runtime-pebble-'));
  dirs.push(dir);
  const ssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=edge test ACME CA', '-days', '2']);
  ssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=pebble.pebble.svc']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=DNS:pebble.pebble.svc,DNS:pebble.pebble.svc.cluster.local\n');
  ssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '2', '-extfile', 'san.ext']);
  await kube.kubectl(['delete', 'namespace', PROD.ns, '--ignore-not-found', '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
  await kube.ok(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'pebble' } }) });
  await kube.kubectl(['-n', 'pebble', 'delete', 'secret', 'pebble-tls', '--ignore-not-found']);
  await kube.ok(['-n', 'pebble', 'create', 'secret', 'tls', 'pebble-tls', `--cert=${join(dir, 'tls.crt')}`, `--key=${join(dir, 'tls.key')}`]);
  await installEdge(kube, ['pebble'], { EDGE_ADDRESS: traefikIP });

  const prod = referenceStack.environments!.prod!;
  const spec = {
    ...referenceStack,
    name: PROD.name,
    namespace: PROD.ns,
    environments: {
      ...referenceStack.environments,
      prod: { ...prod, edge: { ...prod.edge, host: PROD.host, className: 'traefik', tls: { ...prod.edge!.tls, server: 'https://pebble.pebble.svc:14000/dir', caBundle: readFileSync(join(dir, 'ca.crt'), 'utf8') } } },
    },
  } as StackSpec;
  synthesize(spec, join(dir, 'dist'), ['prod']);
  const keep = new Set(['Namespace', 'NetworkPolicy', 'Gateway', 'HTTPRoute', 'Middleware', 'ClusterIssuer', 'Certificate']);
  const objects = parseAllDocuments(readFileSync(join(dir, 'dist', 'prod', `${PROD.name}.k8s.yaml`), 'utf8'))
    .map((d) => d.toJSON())
    .filter((o) => o && keep.has(o.kind));
  const servers = objects.filter((o) => o.kind === 'ClusterIssuer').map((o) => o.spec.acme.server);
  if (servers.join() !== 'https://pebble.pebble.svc:14000/dir') throw new Error(`prod's ClusterIssuer names ACME server(s) ${servers.join(', ')}, not Pebble`);
  const t0 = Date.now();
  await kube.ok(['apply', '--server-side', '-f', '-'], { input: toYaml(objects) });
  await certificateReady(PROD.ns, `${PROD.name}-tls`, 240);
  return { dir, seconds: Math.round((Date.now() - t0) / 100) / 10 };
}

describe('prod', () => {
  it('gets its certificate from an ACME server (Pebble) through the HTTP-01 challenge on its Gateway', async () => {
    const issued = await prodIssuance;
    if (issued instanceof Error) throw issued;
    const { dir } = issued;
    console.log(`edge: prod certificate issued by Pebble over HTTP-01 in ${issued.seconds}s`);

    // Pebble fetched the challenge over HTTP from the stack's host, i.e. through the Gateway.
    const pebbleLog = (await kube.ok(['-n', 'pebble', 'logs', 'deploy/pebble', '-c', 'pebble'])).toString();
    expect(pebbleLog).toContain(`Attempting to validate w/ HTTP: http://${PROD.host}:80/.well-known/acme-challenge/`);
    expect(pebbleLog).toMatch(/authz \S+ set VALID by completed challenge/);
    // The served certificate chains to Pebble's root and names the host.
    const pebbleIP = (await kube.ok(['-n', 'pebble', 'get', 'service', 'pebble', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
    const root = await run(info.nodeExec, ['curl', '-sS', '--cacert', join(dir, 'ca.crt'), '--resolve', `pebble.pebble.svc:15000:${pebbleIP}`, 'https://pebble.pebble.svc:15000/roots/0'], { timeoutMs: 30_000 });
    expect(root.stdout).toContain('BEGIN CERTIFICATE');
    writeFileSync(join(dir, 'pebble-root.crt'), root.stdout);
    const prodGateway = (await kube.json(['-n', PROD.ns, 'get', 'gateway', PROD.name])).status?.addresses?.[0]?.value ?? traefikIP;
    // Traefik loads the new Secret a moment after the Certificate is Ready: until then it serves its default.
    const verify = () => run(info.nodeExec, ['sh', '-c', `openssl s_client -connect ${prodGateway}:443 -servername ${PROD.host} -verify_hostname ${PROD.host} -CAfile ${join(dir, 'pebble-root.crt')} -verify_return_error </dev/null 2>&1 | grep -E "Verify return code"`], { timeoutMs: 30_000 });
    await waitUntil('the Pebble certificate served for the prod host', async () => {
      const codes = [...new Set((await verify()).stdout.split('\n').map((l) => l.trim()).filter(Boolean))];
      return codes.length === 1 && codes[0] === 'Verify return code: 0 (ok)' ? [] : codes;
    }, async () => (await kube.kubectl(['-n', 'kube-system', 'logs', 'deploy/traefik', '--tail=20'])).stdout, 60);
  });
});
