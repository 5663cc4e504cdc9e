/**
 * ops/apply.ts on the real node, which never has cert-manager (the Gateway API and monitoring CRDs
 * appear when laptop.test.ts, running alongside, installs them): a first deploy there creates the
 * Namespace and the Secrets, applies no workload and names what is missing; with --skip-missing it
 * applies everything the cluster can take. What is checked here are the objects: a ResourceQuota of
 * no pods keeps their pods from starting (stack.test.ts runs the same stack), which would only load
 * the node the other files share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize } from '../../charts/synth';
import { ApplyError, applyEnvironment } from '../../ops/apply';
import { requiredSecrets } from '../../model/relations';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
import { applyObjects, diagnostics, node, waitUntil } from './node';

const { info, kube } = node();
// The reference stack in a namespace of its own (the spec's `namespace`): stack.test.ts deploys it
// in the default one at the same time.
const spec = { ...referenceStack, namespace: 'runtime-apply' };
const NS = resolveStack(spec, 'kind').namespace;
let dir = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'stackport-runtime-apply-'));
  synthesize(spec, join(dir, 'dist'), ['kind']);
  await kube.kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
});

afterAll(async () => {
  await kube.kubectl(['delete', 'namespace', NS, '--wait=false']);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const apply = (skipMissing = false) => {
  const log: string[] = [];
  let error: unknown;
  try {
    applyEnvironment({ environment: 'kind', spec, dist: join(dir, 'dist'), secretsFile: join(dir, 'secrets.yaml'), kubectl: info.kubectl, kubeconfig: info.kubeconfig, skipMissing, log: (l) => log.push(l) });
  } catch (e) {
    error = e;
  }
  return { log: log.join('\n'), error };
};

describe('ops/apply.ts on a cluster without cert-manager', () => {
  it('creates the Namespace and every Secret, applies no workload, and names the missing add-ons', async () => {
    const { error } = apply();
    expect(error).toBeInstanceOf(ApplyError);
    const message = (error as Error).message;
    expect(message).toContain('nothing but the Namespace and Secrets was applied');
    expect(message).toMatch(/- cert-manager .*: needed by .*Certificate\/dataplatform-tls/);
    // CRDs only ever appear during a run: an API served now either was served at the apply, or
    // was missing then and must be named.
    const served = new Set((await kube.ok(['api-versions'])).split('\n'));
    if (!served.has('gateway.networking.k8s.io/v1')) expect(message).toMatch(/- the Gateway API CRDs .*: needed by Gateway\/dataplatform/);
    if (!served.has('monitoring.coreos.com/v1')) expect(message).toMatch(/- the prometheus-operator CRDs .*: needed by ServiceMonitor\/api/);
    const secrets = (await kube.items(['-n', NS, 'get', 'secrets'])).map((s) => s.metadata.name);
    expect(secrets.sort()).toEqual(expect.arrayContaining(requiredSecrets(resolveStack(spec, 'kind').spec).map((r) => r.name)));
    expect(await kube.items(['-n', NS, 'get', 'deployments,statefulsets,jobs,cronjobs'])).toEqual([]);
  });

  it('with --skip-missing, applies every object the cluster serves and lists the rest', async () => {
    await applyObjects(kube, [{ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-pods', namespace: NS }, spec: { hard: { pods: '0' } } }]);
    // Admission enforces a quota once its controller has set the status.
    await waitUntil('ResourceQuota no-pods in force', async () => ((await kube.json(['-n', NS, 'get', 'resourcequota', 'no-pods'])).status?.hard?.pods === '0' ? [] : ['status.hard.pods']), () => diagnostics(kube, NS), 60);
    const { log, error } = apply(true);
    expect(error).toBeUndefined();
    expect(log).toContain('left out (the cluster lacks their API):');
    const workloads = (await kube.items(['-n', NS, 'get', 'deployments,statefulsets,jobs,cronjobs'])).map((o) => `${o.kind}/${o.metadata.labels?.['stackport.dev/release-job'] ?? o.metadata.name}`);
    expect(workloads.sort()).toEqual(['CronJob/worker', 'Deployment/api', 'Deployment/dashboard', 'Deployment/pgadmin', 'Job/migrate', 'StatefulSet/postgres', 'StatefulSet/redis']);
    expect((await kube.items(['-n', NS, 'get', 'networkpolicies'])).length).toBeGreaterThanOrEqual(8);
    expect(await kube.items(['-n', NS, 'get', 'pods'])).toEqual([]);
  });
});
