import { describe, expect, it } from 'vitest';
import { referenceStack } from '../../model/reference';
import { ENVIRONMENTS } from '../../model/schema';
import { find, manifests, manifestsOf, podSpec } from '../support/manifests';
import { allowed, type Endpoint } from '../support/netpol';

const NS = 'dataplatform';
const pod = (name: string): Endpoint => ({ labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': NS } });
const prometheus: Endpoint = { namespace: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } };
const dns: Endpoint = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } };
const internet: Endpoint = { ip: '93.184.216.34' };
const kindProxy: Endpoint = { ip: '172.18.0.5' };
const traefik: Endpoint = { namespace: 'kube-system', labels: { 'app.kubernetes.io/name': 'traefik' } };

describe('NetworkPolicies', () => {
  const kind = manifests(undefined, 'kind');
  const can = (from: Endpoint, to: Endpoint, port: number, objs = kind) => allowed(objs, NS, from, to, port);

  it('denies everything in the namespace by default', () => {
    expect(find(kind, 'NetworkPolicy', 'default-deny').spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    expect(can(pod('some-debug-pod'), pod('postgres'), 5432)).toBe(false);
  });

  it('admits exactly the relations to postgres, on 5432 only', () => {
    for (const c of ['api', 'dashboard', 'worker', 'migrate', 'pgadmin']) expect(can(pod(c), pod('postgres'), 5432), c).toBe(true);
    expect(can(pod('redis'), pod('postgres'), 5432)).toBe(false);
    expect(can(pod('api'), pod('postgres'), 5433)).toBe(false);
    expect(can(prometheus, pod('postgres'), 5432)).toBe(false);
  });

  it('admits only the api and the worker to redis', () => {
    expect(can(pod('api'), pod('redis'), 6379)).toBe(true);
    expect(can(pod('worker'), pod('redis'), 6379)).toBe(true);
    expect(can(pod('dashboard'), pod('redis'), 6379)).toBe(false);
    expect(can(pod('migrate'), pod('redis'), 6379)).toBe(false);
  });

  it('lets the proxy reach the routed services and Prometheus the metrics port, nothing else from outside', () => {
    expect(can(kindProxy, pod('dashboard'), 8501)).toBe(true);
    expect(can(kindProxy, pod('api'), 8000)).toBe(true);
    expect(can(kindProxy, pod('postgres'), 5432)).toBe(false);
    expect(can(kindProxy, pod('pgadmin'), 5050)).toBe(false);
    expect(can(prometheus, pod('api'), 8000)).toBe(true);
    expect(can(prometheus, pod('dashboard'), 8501)).toBe(false);
    expect(can(internet, pod('api'), 8000)).toBe(false);
  });

  it('uses the Traefik pods as the proxy on k3d', () => {
    const k3d = manifests(undefined, 'k3d');
    expect(can(traefik, pod('dashboard'), 8501, k3d)).toBe(true);
    expect(can(kindProxy, pod('dashboard'), 8501, k3d)).toBe(false);
  });

  it('lets only the worker call outside APIs, on 443', () => {
    expect(can(pod('worker'), internet, 443)).toBe(true);
    expect(can(pod('worker'), internet, 80)).toBe(false);
    expect(can(pod('api'), internet, 443)).toBe(false);
    expect(can(pod('postgres'), internet, 443)).toBe(false);
  });

  it('gives every pod cluster DNS and the dashboard the API', () => {
    for (const c of ['api', 'dashboard', 'worker', 'migrate', 'postgres', 'redis', 'pgadmin']) expect(can(pod(c), dns, 53), c).toBe(true);
    expect(can(pod('dashboard'), pod('api'), 8000)).toBe(true);
    expect(can(pod('api'), pod('dashboard'), 8501)).toBe(false);
  });

  it('lets the backup job reach postgres in prod', () => {
    const prod = manifests(undefined, 'prod');
    expect(can(pod('postgres-backup'), pod('postgres'), 5432, prod)).toBe(true);
    expect(can(pod('postgres-backup'), internet, 443, prod)).toBe(false);
  });

  it.each(ENVIRONMENTS)('selects every pod of %s with a policy listing both directions', (env) => {
    const objs = manifests(undefined, env);
    const policies = objs.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name !== 'default-deny');
    const workloads = objs.filter((o) => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind));
    // A release Job's name carries a hash; its component is the policy's name.
    const component = (w: any) => w.metadata.labels?.['stackport.dev/release-job'] ?? w.metadata.name;
    for (const w of workloads) {
      const labels = w.kind === 'CronJob' ? w.spec.jobTemplate.spec.template.metadata.labels : w.spec.template.metadata.labels;
      const selecting = policies.filter((p) => Object.entries(p.spec.podSelector.matchLabels).every(([k, v]) => labels[k] === v));
      expect(selecting.map((p) => p.metadata.name), w.metadata.name).toEqual([component(w)]);
      expect(selecting[0].spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(podSpec(w)).toBeDefined();
    }
    // and no policy selects nothing (the ACME solver's selects the pods cert-manager creates during a challenge)
    for (const p of policies.filter((x) => x.metadata.name !== 'acme-http01-solver')) expect(workloads.some((w) => component(w) === p.metadata.name), p.metadata.name).toBe(true);
  });

  it('follows the relations of a different stack, including an external database by port', () => {
    const objs = manifestsOf({
      name: 'reports',
      components: {
        db: { kind: 'postgres', external: { host: 'db.internal.example.com' }, databases: [{ name: 'reports', owner: 'reports' }] },
        web: { kind: 'web', role: 'dashboard', image: 'ghcr.io/acme/dash:3.1.0', port: 8050, healthPath: '/', uses: [{ to: 'db', access: 'read-only' }] },
      },
    });
    const web = { labels: { 'app.kubernetes.io/name': 'web', 'app.kubernetes.io/part-of': 'reports' } };
    expect(allowed(objs, 'reports', web, { ip: '10.20.30.40' }, 5432)).toBe(true);
    expect(allowed(objs, 'reports', web, { ip: '10.20.30.40' }, 6379)).toBe(false);
    expect(objs.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'db')).toBe(false);
  });
});

describe('network mode stack', () => {
  const NS2 = 'shop';
  const p = (name: string): Endpoint => ({ labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': NS2 } });
  const spec = (mode?: 'stack' | 'declared') => ({
    name: NS2,
    ...(mode ? { network: { mode } } : {}),
    components: {
      api: { kind: 'web' as const, image: 'acme/api:1', port: 8000, healthPath: '/health', route: false as const },
      search: { kind: 'stateful' as const, image: 'acme/search:1', ports: [{ name: 'http', port: 9200 }, { name: 'transport', port: 9300 }] },
      cache: { kind: 'redis' as const },
      job: { kind: 'job' as const, image: 'acme/api:1', args: [] },
    },
  });

  it('lets every pod of the stack reach every Service port of the stack, and nothing else', () => {
    const objs = manifestsOf(spec('stack'));
    const can = (from: Endpoint, to: Endpoint, port: number) => allowed(objs, NS2, from, to, port);
    for (const from of ['api', 'job', 'search']) {
      expect(can(p(from), p('cache'), 6379), from).toBe(true);
      if (from !== 'search') for (const port of [9200, 9300]) expect(can(p(from), p('search'), port), `${from} ${port}`).toBe(true);
    }
    expect(can(p('job'), p('api'), 8000)).toBe(true);
    expect(can(p('api'), p('search'), 9201)).toBe(false);
    expect(can(p('api'), internet, 443)).toBe(false);
    expect(can(p('some-debug-pod'), p('cache'), 6379)).toBe(false);
    expect(can(kindProxy, p('search'), 9200)).toBe(false);
  });

  it('does it with one policy naming every component, not a rule per pair (output linear in components)', () => {
    const policies = (mode: 'stack' | 'declared') => manifestsOf(spec(mode)).filter((o) => o.kind === 'NetworkPolicy');
    const wide = policies('stack').filter((o) => o.metadata.name === 'stackport-internal');
    expect(wide).toHaveLength(1);
    expect(wide[0].spec.podSelector.matchExpressions).toEqual([{ key: 'app.kubernetes.io/name', operator: 'In', values: ['api', 'cache', 'job', 'search'] }]);
    expect(wide[0].spec.ingress[0].ports.map((p: any) => p.port)).toEqual([6379, 8000, 9200, 9300]);
    expect(policies('stack').map((o) => o.metadata.name).sort()).toEqual([...policies('declared').map((o) => o.metadata.name), 'stackport-internal'].sort());
  });

  it('declared (the default) admits only what uses declares', () => {
    for (const objs of [manifestsOf(spec()), manifestsOf(spec('declared'))]) expect(allowed(objs, NS2, p('api'), p('cache'), 6379)).toBe(false);
  });
});

describe('ACME HTTP-01 solver pods', () => {
  const solver: Endpoint = { labels: { 'acme.cert-manager.io/http01-solver': 'true', 'acme.cert-manager.io/http-domain': '1234' } };
  const envoy: Endpoint = { namespace: 'envoy-gateway-system', labels: { 'app.kubernetes.io/name': 'envoy' } };

  it('admits the proxy to the solver on 8089 in prod (ACME), and nothing else to or from it', () => {
    const prod = manifests(undefined, 'prod');
    expect(find(prod, 'NetworkPolicy', 'acme-http01-solver').spec.podSelector).toEqual({ matchLabels: { 'acme.cert-manager.io/http01-solver': 'true' } });
    expect(allowed(prod, NS, envoy, solver, 8089)).toBe(true);
    expect(allowed(prod, NS, envoy, solver, 8080)).toBe(false);
    expect(allowed(prod, NS, pod('api'), solver, 8089)).toBe(false);
    expect(allowed(prod, NS, solver, pod('api'), 8000)).toBe(false);
  });

  it('is not rendered where the local CA issues the certificate', () => {
    for (const env of ['kind', 'k3d'] as const) expect(manifests(undefined, env).some((o) => o.metadata.name === 'acme-http01-solver'), env).toBe(false);
  });

  it('follows the class: k3d with ACME admits Traefik from kube-system', () => {
    const objs = manifestsOf({ ...referenceStack, environments: { k3d: { edge: { tls: { issuer: 'acme', email: 'ops@example.com' } } } } }, 'k3d');
    expect(allowed(objs, NS, traefik, solver, 8089)).toBe(true);
    expect(allowed(objs, NS, envoy, solver, 8089)).toBe(false);
  });
});
