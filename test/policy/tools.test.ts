/**
 * The policy tools installed by scripts/policy/install.sh work here, offline, and can tell a bad
 * manifest from a hardened one.
 *
 * Every tool runs with HTTP(S)_PROXY pointing at a closed local port, so anything that tries the
 * network fails instead of quietly downloading. Paths come from scripts/policy/env.sh.
 *
 * Trivy and Kyverno, which could fetch checks or policies, run in a network namespace of their own
 * (`unshare -n`: only a loopback that is down) when the test runs as root.
 *
 * A tool that is not installed: the test fails when CI is set (run scripts/policy/install.sh
 * first), and is skipped with the same message otherwise.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KYVERNO_ARGS } from '../../scripts/policy/kyverno';
import { policyEnv } from '../../scripts/policy/lint';
import { TRIVY_OFFLINE } from '../../scripts/policy/trivy';
import { BAD_DEPLOYMENT } from './bad-manifest';

const ROOT = resolve(__dirname, '../..');
const INSTALL = 'scripts/policy/install.sh';
const TIMEOUT = 120_000;

const P = policyEnv();

/** Environment for the tools: no network (a proxy on a closed port), no update checks. */
const OFFLINE_ENV = {
  ...process.env,
  HTTPS_PROXY: 'http://127.0.0.1:9',
  HTTP_PROXY: 'http://127.0.0.1:9',
  https_proxy: 'http://127.0.0.1:9',
  http_proxy: 'http://127.0.0.1:9',
  NO_PROXY: '',
  no_proxy: '',
  CKV_SKIP_PACKAGE_UPDATE_CHECK: 'true',
  NO_COLOR: '1',
};

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], cwd: string): Run {
  const r = spawnSync(bin, args, { cwd, env: OFFLINE_ENV, encoding: 'utf8', timeout: TIMEOUT - 10_000, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Root can give a tool a network namespace of its own; others get the dead proxy only. */
const CAN_UNSHARE = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'true']).status === 0;

/** run() with no network at all, where that can be arranged (see the file comment). */
function offline(bin: string, args: string[], cwd: string): Run {
  return CAN_UNSHARE ? run('unshare', ['-n', bin, ...args], cwd) : run(bin, args, cwd);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

type Skip = (note?: string) => never;

/** Fail (CI) or skip (locally) when a tool or schema set is missing; see the file comment. */
function need(skip: Skip, name: string, present: boolean, where: string): void {
  if (present) return;
  const message = `${name} is not installed (${where}): run ${INSTALL}`;
  if (process.env.CI) throw new Error(message);
  skip(message);
}

function needTool(skip: Skip, name: string, bin: string): void {
  need(skip, name, isExecutable(bin), bin);
}

function needSchemas(skip: Skip): void {
  const k8s = join(P.STACKPORT_K8S_SCHEMA_DIR, `v${P.STACKPORT_K8S_VERSION}-standalone-strict`, '.complete');
  need(skip, 'kubernetes-schemas', existsSync(k8s), k8s);
  const crds = join(P.STACKPORT_CRD_SCHEMA_DIR, '.complete');
  need(skip, 'crd-schemas', existsSync(crds), crds);
}

// --- manifests -------------------------------------------------------------------------------

/** Privileged, no resources, :latest, and an unknown field spec.bogus. */

/** The same as BAD_DEPLOYMENT without the unknown field: what the linters see. */
const BAD_BUT_VALID = BAD_DEPLOYMENT.replace('  bogus: true\n', '');

const GOOD = `apiVersion: v1
kind: Namespace
metadata:
  name: demo
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: good
  namespace: demo
  labels: {app.kubernetes.io/name: good, app.kubernetes.io/instance: good}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: good}
  template:
    metadata:
      labels: {app.kubernetes.io/name: good, app.kubernetes.io/instance: good}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 10001
        runAsGroup: 10001
        fsGroup: 10001
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: web
          image: registry.example.com/web:1.2.3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
          imagePullPolicy: Always
          ports:
            - {name: http, containerPort: 8080}
          securityContext:
            privileged: false
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            runAsNonRoot: true
            runAsUser: 10001
            runAsGroup: 10001
            capabilities: {drop: [ALL]}
            seccompProfile: {type: RuntimeDefault}
          resources:
            requests: {cpu: 100m, memory: 128Mi, ephemeral-storage: 64Mi}
            limits: {cpu: 500m, memory: 128Mi, ephemeral-storage: 64Mi}
          readinessProbe:
            httpGet: {path: /ready, port: http}
          livenessProbe:
            httpGet: {path: /health, port: http}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: tmp
          emptyDir: {sizeLimit: 64Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: good
  namespace: demo
  labels: {app.kubernetes.io/name: good}
spec:
  selector: {app.kubernetes.io/name: good}
  ports:
    - {name: http, port: 80, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: good
  namespace: demo
spec:
  podSelector:
    matchLabels: {app.kubernetes.io/name: good}
  policyTypes: [Ingress, Egress]
  ingress:
    - ports: [{port: 8080, protocol: TCP}]
  egress:
    - ports: [{port: 53, protocol: UDP}]
`;

const SERVICE_MONITOR = `apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: good
  namespace: demo
  labels: {app.kubernetes.io/name: good}
spec:
  selector:
    matchLabels: {app.kubernetes.io/name: good}
  endpoints:
    - port: http
      path: /metrics
      interval: 30s
`;

const SERVICE_MONITOR_UNKNOWN_FIELD = SERVICE_MONITOR.replace('      interval: 30s\n', '      interval: 30s\n      scrapeEvery: 30s\n');

const UNKNOWN_KIND = `apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
spec: {}
`;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'stackport-policy-'));
  const files: Record<string, string> = {
    'bad.yaml': BAD_DEPLOYMENT,
    'bad-valid.yaml': BAD_BUT_VALID,
    'good.yaml': GOOD,
    'servicemonitor.yaml': SERVICE_MONITOR,
    'servicemonitor-unknown-field.yaml': SERVICE_MONITOR_UNKNOWN_FIELD,
    'unknown-kind.yaml': UNKNOWN_KIND,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('the test manifests differ only where intended', () => {
  expect(BAD_BUT_VALID).not.toContain('bogus');
  expect(SERVICE_MONITOR_UNKNOWN_FIELD).toContain('scrapeEvery');
});

// --- kubeconform ------------------------------------------------------------------------------

/** kubeconform -strict against the generated Kubernetes and CRD schemas only (no downloads). */
function kubeconform(...files: string[]): { status: number | null; resources: any[]; stderr: string } {
  const r = run(
    P.STACKPORT_KUBECONFORM,
    [
      '-strict',
      '-kubernetes-version', P.STACKPORT_K8S_VERSION,
      '-schema-location', P.STACKPORT_K8S_SCHEMA_LOCATION,
      '-schema-location', P.STACKPORT_CRD_SCHEMA_LOCATION,
      '-output', 'json',
      ...files,
    ],
    dir,
  );
  return { status: r.status, resources: JSON.parse(r.stdout).resources ?? [], stderr: r.stderr };
}

describe('kubeconform (strict, offline, generated schemas)', () => {
  it('rejects the bad Deployment for its unknown field spec.bogus', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kubeconform', P.STACKPORT_KUBECONFORM);
    needSchemas(skip);
    const r = kubeconform('bad.yaml');
    expect(r.status).toBe(1);
    expect(r.resources).toHaveLength(1);
    expect(r.resources[0]).toMatchObject({ kind: 'Deployment', name: 'bad', status: 'statusInvalid' });
    expect(r.resources[0].msg).toMatch(/at '\/spec': additional properties 'bogus' not allowed/);
  });

  it('accepts the hardened Namespace, Deployment, Service and NetworkPolicy', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kubeconform', P.STACKPORT_KUBECONFORM);
    needSchemas(skip);
    const r = kubeconform('good.yaml');
    // -output json lists only resources that are not valid; a valid run lists none.
    expect(r.resources, JSON.stringify(r.resources)).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('accepts a ServiceMonitor through the CRD schemas', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kubeconform', P.STACKPORT_KUBECONFORM);
    needSchemas(skip);
    const schema = join(P.STACKPORT_CRD_SCHEMA_DIR, 'monitoring.coreos.com', 'servicemonitor_v1.json');
    expect(existsSync(schema), schema).toBe(true);
    const r = kubeconform('servicemonitor.yaml');
    expect(r.resources, JSON.stringify(r.resources)).toEqual([]);
    expect(r.status).toBe(0);
  });

  it('rejects a ServiceMonitor with an unknown endpoint field', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kubeconform', P.STACKPORT_KUBECONFORM);
    needSchemas(skip);
    const r = kubeconform('servicemonitor-unknown-field.yaml');
    expect(r.status).toBe(1);
    expect(r.resources[0]).toMatchObject({ kind: 'ServiceMonitor', status: 'statusInvalid' });
    expect(r.resources[0].msg).toMatch(/at '\/spec\/endpoints\/0': additional properties 'scrapeEvery' not allowed/);
  });

  it('reports a kind without a schema as an error instead of skipping it', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kubeconform', P.STACKPORT_KUBECONFORM);
    needSchemas(skip);
    const r = kubeconform('unknown-kind.yaml');
    expect(r.status).toBe(1);
    expect(r.resources[0]).toMatchObject({ kind: 'Widget', status: 'statusError' });
    expect(r.resources[0].msg).toMatch(/could not find schema for Widget/);
  });
});

// --- crd2jsonschema.py ------------------------------------------------------------------------

const SYNTHETIC_CRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
                port:
                  x-kubernetes-int-or-string: true
                  anyOf: [{type: integer}, {type: string}]
                note: {type: string, nullable: true}
                raw:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties:
                    kind: {type: string}
                labels:
                  type: object
                  additionalProperties: {type: string}
                items:
                  type: array
                  items:
                    type: object
                    properties:
                      name: {type: string}
              oneOf:
                - properties:
                    size: {minimum: 1}
    - name: v1alpha1
      served: false
      storage: false
      schema:
        openAPIV3Schema: {type: object}
`;

describe('crd2jsonschema.py', () => {
  it('closes objects, except preserve-unknown-fields and combinator branches; skips unserved versions', { timeout: TIMEOUT }, ({ skip }) => {
    const python = join(P.STACKPORT_SCHEMA_TOOLS_VENV, 'bin', 'python');
    needTool(skip, 'schema-tools', python);
    const crd = join(dir, 'widget-crd.yaml');
    writeFileSync(crd, SYNTHETIC_CRD);
    const out = join(dir, 'crd-out');
    const r = run(python, [join(ROOT, 'scripts/policy/crd2jsonschema.py'), out, crd], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(out, 'example.com', 'widget_v1alpha1.json'))).toBe(false);
    const s = JSON.parse(readFileSync(join(out, 'example.com', 'widget_v1.json'), 'utf8'));
    expect(s.additionalProperties).toBe(false);
    const spec = s.properties.spec;
    expect(spec.additionalProperties).toBe(false);
    expect(spec.oneOf[0].additionalProperties).toBeUndefined();
    expect(spec.properties.raw.additionalProperties).toBeUndefined();
    expect(spec.properties.labels.additionalProperties).toEqual({ type: 'string' });
    expect(spec.properties.items.items.additionalProperties).toBe(false);
    expect(spec.properties.note.type).toEqual(['string', 'null']);
    expect(spec.properties.port.anyOf).toEqual([{ type: 'integer' }, { type: 'string' }]);
  });
});

// --- kube-score -------------------------------------------------------------------------------

/** Check ids that kube-score grades critical (1) and does not skip. */
function kubeScoreCritical(file: string): { status: number | null; critical: string[] } {
  const r = run(P.STACKPORT_KUBE_SCORE, ['score', '--output-format', 'json', file], dir);
  const objects: any[] = JSON.parse(r.stdout);
  const critical = objects.flatMap((o) => o.checks.filter((c: any) => !c.skipped && c.grade === 1).map((c: any) => c.check.id));
  return { status: r.status, critical: [...new Set<string>(critical)].sort() };
}

const KUBE_SCORE_ON_BAD = [
  'container-ephemeral-storage-request-and-limit',
  'container-image-tag',
  'container-resources',
  'container-security-context-privileged',
  'container-security-context-readonlyrootfilesystem',
  'container-security-context-user-group-id',
  'pod-networkpolicy',
];

describe('kube-score', () => {
  it('grades the bad Deployment critical and exits 1', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kube-score', P.STACKPORT_KUBE_SCORE);
    const r = kubeScoreCritical('bad-valid.yaml');
    expect(r.status).toBe(1);
    expect(r.critical).toEqual(KUBE_SCORE_ON_BAD);
  });

  it('finds nothing critical in the hardened manifests', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kube-score', P.STACKPORT_KUBE_SCORE);
    const r = kubeScoreCritical('good.yaml');
    expect(r.critical).toEqual([]);
    expect(r.status).toBe(0);
  });
});

// --- checkov ----------------------------------------------------------------------------------

function checkovFailed(file: string): { status: number | null; failed: string[] } {
  const r = run(
    P.STACKPORT_CHECKOV,
    ['--framework', 'kubernetes', '--skip-download', '--quiet', '--compact', '--output', 'json', '--file', file],
    dir,
  );
  const parsed = JSON.parse(r.stdout);
  const reports: any[] = Array.isArray(parsed) ? parsed : [parsed];
  const failed = reports.flatMap((rep) => (rep.results?.failed_checks ?? []).map((c: any) => c.check_id));
  return { status: r.status, failed: [...new Set<string>(failed)].sort() };
}

const CHECKOV_ON_BAD = [
  'CKV2_K8S_6', // no NetworkPolicy selects the pod
  'CKV_K8S_10', 'CKV_K8S_11', 'CKV_K8S_12', 'CKV_K8S_13', // cpu/memory requests and limits
  'CKV_K8S_14', // image tag latest
  'CKV_K8S_16', // privileged
  'CKV_K8S_20', // allowPrivilegeEscalation
  'CKV_K8S_22', // read-only root filesystem
  'CKV_K8S_23', // root
  'CKV_K8S_28', 'CKV_K8S_37', // NET_RAW, capabilities
  'CKV_K8S_29', // security context
  'CKV_K8S_31', // seccomp
  'CKV_K8S_38', // service account token
  'CKV_K8S_40', // uid >= 10000
  'CKV_K8S_43', // image digest
  'CKV_K8S_8', 'CKV_K8S_9', // liveness, readiness
].sort();

describe('checkov', () => {
  it('fails the bad Deployment and exits 1', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'checkov', P.STACKPORT_CHECKOV);
    const r = checkovFailed('bad-valid.yaml');
    expect(r.status).toBe(1);
    expect(r.failed).toEqual(CHECKOV_ON_BAD);
  });

  it('passes the hardened manifests', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'checkov', P.STACKPORT_CHECKOV);
    const r = checkovFailed('good.yaml');
    expect(r.failed).toEqual([]);
    expect(r.status).toBe(0);
  });
});

// --- Trivy -----------------------------------------------------------------------------------

/** `trivy config` as the gate runs it (TRIVY_OFFLINE): failed KSV check ids. */
function trivyFailed(file: string, cwd = dir): { status: number | null; failed: string[]; stderr: string } {
  const target = mkdtempSync(join(tmpdir(), 'stackport-trivy-test-'));
  try {
    writeFileSync(join(target, 'manifest.yaml'), readFileSync(join(cwd, file)));
    const r = offline(P.STACKPORT_TRIVY, ['config', '--quiet', '--format', 'json', ...TRIVY_OFFLINE, '--cache-dir', join(target, 'cache'), '--exit-code', '3', join(target, 'manifest.yaml')], cwd);
    const results: any[] = r.stdout ? JSON.parse(r.stdout).Results ?? [] : [];
    const failed = results.flatMap((x) => (x.Misconfigurations ?? []).filter((m: any) => m.Status === 'FAIL').map((m: any) => m.ID));
    return { status: r.status, failed: [...new Set<string>(failed)].sort(), stderr: r.stderr };
  } finally {
    rmSync(target, { recursive: true, force: true });
  }
}

const TRIVY_ON_BAD = [
  'KSV-0001', // allowPrivilegeEscalation
  'KSV-0003', 'KSV-0004', 'KSV-0106', // capabilities not dropped
  'KSV-0011', 'KSV-0015', 'KSV-0016', 'KSV-0018', // cpu/memory requests and limits
  'KSV-0012', 'KSV-0020', 'KSV-0021', // root, uid and gid <= 10000
  'KSV-0013', // image tag latest
  'KSV-0014', // read-only root filesystem
  'KSV-0017', // privileged
  'KSV-0030', 'KSV-0104', // seccomp
  'KSV-0118', // default security context
].sort();

describe('trivy', () => {
  it('reports the bad Deployment, with no network at all', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'trivy', P.STACKPORT_TRIVY);
    const r = trivyFailed('bad-valid.yaml');
    expect(r.status, r.stderr).toBe(3);
    expect(r.failed).toEqual(TRIVY_ON_BAD);
  });

  it('passes the hardened manifests but for the registry it has not been told to trust', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'trivy', P.STACKPORT_TRIVY);
    const r = trivyFailed('good.yaml');
    expect(r.failed, r.stderr).toEqual(['KSV-0125']);
  });
});

// --- Kyverno ---------------------------------------------------------------------------------

/** `kyverno apply` of the gate's policies, as the gate runs it: failed policy/rule pairs. */
function kyvernoFailed(file: string): { status: number | null; failed: string[]; stderr: string } {
  const r = offline(P.STACKPORT_KYVERNO, [...KYVERNO_ARGS(P.STACKPORT_KYVERNO_POLICIES), '--resource', file], dir);
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  const results: any[] = line ? JSON.parse(line).results ?? [] : [];
  const failed = results.filter((x) => x.result !== 'pass' && x.result !== 'skip').map((x) => `${x.policy}/${x.rule}`);
  return { status: r.status, failed: [...new Set<string>(failed)].sort(), stderr: r.stderr || r.stdout };
}

const KYVERNO_ON_BAD = [
  'podsecurity-restricted/autogen-restricted', // privileged, escalation, capabilities, root, seccomp
  'disallow-latest-tag/autogen-validate-image-tag',
  'drop-all-capabilities/autogen-require-drop-all',
  'require-labels/autogen-check-for-labels',
  'require-non-root-groups/autogen-check-runasgroup',
  'require-pod-probes/autogen-validate-probes',
  'require-requests-limits/autogen-validate-resources',
  'require-ro-rootfs/autogen-validate-readOnlyRootFilesystem',
  'restrict-automount-sa-token/autogen-validate-automountServiceAccountToken',
].sort();

describe('kyverno', () => {
  it('fails the bad Deployment on Pod Security and the library policies, with no network at all', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kyverno', P.STACKPORT_KYVERNO);
    const r = kyvernoFailed('bad-valid.yaml');
    expect(r.failed, r.stderr).toEqual(KYVERNO_ON_BAD);
  });

  it('passes the hardened manifests', { timeout: TIMEOUT }, ({ skip }) => {
    needTool(skip, 'kyverno', P.STACKPORT_KYVERNO);
    const r = kyvernoFailed('good.yaml');
    expect(r.failed, r.stderr).toEqual([]);
  });
});
