/** Properties every environment's output must have, checked over every object. */
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ENVIRONMENTS } from '../model/schema';
import { requiredSecrets } from '../model/relations';
import { resolveStack } from '../model/presets';
import { referenceStack } from '../model/reference';
import { manifests, podSpec } from './support/manifests';
import { isBuiltInKind, validateAll } from './support/k8s-schema';
import { validateAllCustomResources } from './support/crd-schema';
import { checkRestricted, podSpecsOf } from './support/pod-security';

const WORKLOADS = ['Deployment', 'StatefulSet', 'Job', 'CronJob'];
const SECRET_NAME = /(PASSWORD|TOKEN|SECRET|_KEY$|APIKEY|CREDENTIAL)/i;

function cpu(q: string): number {
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}
function mebibytes(q: string): number {
  const units: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024 };
  const m = /^([0-9.]+)(Ki|Mi|Gi)$/.exec(q);
  if (!m) throw new Error(`unexpected quantity ${q}`);
  return Number(m[1]) * units[m[2]];
}
/** Requests the scheduler reserves for a pod: the larger of its biggest init container and the sum of its containers. */
function podRequests(spec: any): { cpu: number; memory: number } {
  const sum = (cs: any[], f: (c: any) => number) => cs.reduce((a, c) => a + f(c), 0);
  const max = (cs: any[], f: (c: any) => number) => cs.reduce((a, c) => Math.max(a, f(c)), 0);
  const c = (x: any) => cpu(x.resources.requests.cpu);
  const m = (x: any) => mebibytes(x.resources.requests.memory);
  const init = spec.initContainers ?? [];
  return { cpu: Math.max(sum(spec.containers, c), max(init, c)), memory: Math.max(sum(spec.containers, m), max(init, m)) };
}

describe.each(ENVIRONMENTS)('environment %s', (env) => {
  const objs = manifests(undefined, env);
  const workloads = objs.filter((o) => WORKLOADS.includes(o.kind));

  it('matches the reviewed snapshot', () => {
    expect(stringify(objs, { lineWidth: 0 })).toMatchSnapshot();
  });

  it('validates against the Kubernetes schema with unknown fields rejected', () => {
    const builtIn = objs.filter((o) => isBuiltInKind(o.apiVersion, o.kind));
    expect(builtIn.length).toBeGreaterThanOrEqual(18);
    expect(validateAll(builtIn)).toEqual([]);
  });

  it("validates every custom resource against its pinned CRD's schema, unknown fields rejected", () => {
    const custom = objs.filter((o) => !isBuiltInKind(o.apiVersion, o.kind));
    expect(new Set(custom.map((o) => o.kind))).toEqual(
      new Set([
        'Certificate',
        'ClusterIssuer',
        'ServiceMonitor',
        'PrometheusRule',
        ...(env === 'k3d' ? ['Middleware'] : ['Gateway', 'HTTPRoute']),
        // prod's GatewayClass is eg (Envoy Gateway): the rate limit is a BackendTrafficPolicy.
        ...(env === 'prod' ? ['BackendTrafficPolicy'] : []),
      ]),
    );
    expect(validateAllCustomResources(custom)).toEqual([]);
  });

  it('passes Pod Security "restricted" for every pod template', () => {
    expect(workloads.length).toBeGreaterThanOrEqual(5);
    expect(workloads.flatMap((o) => checkRestricted(o))).toEqual([]);
  });

  it('runs every container as a non-root uid/gid >= 10000 with a read-only root and no capabilities', () => {
    for (const o of workloads) {
      for (const spec of podSpecsOf(o)) {
        expect(spec.securityContext.runAsUser, o.metadata.name).toBeGreaterThanOrEqual(10000);
        expect(spec.securityContext.runAsGroup, o.metadata.name).toBeGreaterThanOrEqual(10000);
        expect(spec.automountServiceAccountToken, o.metadata.name).toBe(false);
        for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) {
          expect(c.securityContext.readOnlyRootFilesystem, c.name).toBe(true);
          expect(c.securityContext.capabilities.drop, c.name).toEqual(['ALL']);
          expect(c.securityContext.runAsUser, c.name).toBeGreaterThanOrEqual(10000);
        }
      }
    }
  });

  it('sets cpu, memory and ephemeral-storage requests and limits on every container', () => {
    for (const o of workloads) {
      for (const c of [...podSpec(o).containers, ...(podSpec(o).initContainers ?? [])]) {
        expect(Object.keys(c.resources.requests).sort(), `${o.metadata.name}/${c.name}`).toEqual(['cpu', 'ephemeral-storage', 'memory']);
        expect(Object.keys(c.resources.limits).sort(), `${o.metadata.name}/${c.name}`).toEqual(['cpu', 'ephemeral-storage', 'memory']);
        expect(c.imagePullPolicy).toBe(env === 'prod' ? 'Always' : 'IfNotPresent');
      }
    }
  });

  it('never writes a Secret or a secret value: secret-looking variables come from secretKeyRef', () => {
    expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
    for (const o of workloads) {
      for (const c of [...podSpec(o).containers, ...(podSpec(o).initContainers ?? [])]) {
        for (const e of c.env ?? []) {
          if (SECRET_NAME.test(e.name) && !e.name.endsWith('_FILE')) expect(e.valueFrom?.secretKeyRef, `${c.name} ${e.name}`).toBeDefined();
        }
      }
    }
  });

  it('references only Secrets the secrets command creates, and only ConfigMaps it renders', () => {
    const stack = resolveStack(referenceStack, env);
    const known = new Set(requiredSecrets(stack.spec).map((s) => s.name));
    const configMaps = new Set(objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
    const text = JSON.stringify(workloads);
    for (const [, name] of text.matchAll(/"secretName":"([^"]+)"/g)) expect(known).toContain(name);
    for (const [, name] of text.matchAll(/"secretKeyRef":\{"name":"([^"]+)"/g)) expect(known).toContain(name);
    for (const [, name] of text.matchAll(/"configMap":\{"name":"([^"]+)"/g)) expect(configMaps).toContain(name);
  });

  it('uses readable names without hash suffixes (but on release Jobs) and the standard labels', () => {
    const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toContain('Deployment/api');
    expect(names).toContain('StatefulSet/postgres');
    expect(names).toContain('CronJob/worker');
    // A release Job's name is its component plus a hash of its spec, so a new release is a new Job.
    expect(names.filter((n) => n.startsWith('Job/'))).toEqual([expect.stringMatching(/^Job\/migrate-[0-9a-f]{8}$/)]);
    for (const o of objs) {
      expect(o.metadata.name).toMatch(/^[a-z][-a-z0-9]*$/);
      expect(o.metadata.labels['app.kubernetes.io/part-of']).toBe('dataplatform');
      expect(o.metadata.labels['app.kubernetes.io/managed-by']).toBe('stackport');
    }
    for (const o of workloads) {
      const component = o.metadata.labels['stackport.dev/release-job'] ?? o.metadata.name;
      expect(o.metadata.labels).toMatchObject({ 'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': component });
      expect(o.metadata.labels['app.kubernetes.io/component']).toBeTruthy();
      expect(o.metadata.labels['app.kubernetes.io/version']).toBeTruthy();
    }
  });

  it('gives every Service a selector that matches exactly one workload', () => {
    for (const svc of objs.filter((o) => o.kind === 'Service')) {
      const matches = workloads.filter((w) => {
        const labels = w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template.metadata.labels : w.spec.template.metadata.labels;
        return Object.entries(svc.spec.selector).every(([k, v]) => labels[k] === v);
      });
      expect(matches.map((w) => w.metadata.name), svc.metadata.name).toHaveLength(1);
    }
  });

  if (env !== 'prod') {
    it('fits a laptop node: the whole stack requests at most 1 CPU and 1.5 GiB', () => {
      const total = workloads.map((o) => podRequests(podSpec(o))).reduce((a, r) => ({ cpu: a.cpu + r.cpu, memory: a.memory + r.memory }), { cpu: 0, memory: 0 });
      expect(total.cpu).toBeLessThanOrEqual(1);
      expect(total.memory).toBeLessThanOrEqual(1536);
    });
  }
});
