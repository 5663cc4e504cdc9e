import { describe, expect, it } from 'vitest';
import { find, has, manifests, manifestsOf } from '../support/manifests';
import { SpecError } from '../../model/errors';

const kind = manifests(undefined, 'kind');
const k3d = manifests(undefined, 'k3d');
const prod = manifests(undefined, 'prod');

/** Every backend a route names must be a Service in the output exposing that port. */
function expectBackendsExist(objs: any[], backends: { name: string; port: number }[]) {
  expect(backends.length).toBeGreaterThan(0);
  for (const b of backends) {
    const svc = find(objs, 'Service', b.name);
    expect(svc.spec.ports.map((p: any) => p.port), b.name).toContain(b.port);
  }
}

describe('Edge in gateway mode (kind: cloud-provider-kind)', () => {
  const gw = find(kind, 'Gateway', 'dataplatform');

  it('uses the GatewayClass cloud-provider-kind registers, with HTTP and a TLS-terminating HTTPS listener', () => {
    expect(gw.spec.gatewayClassName).toBe('cloud-provider-kind');
    const [http, https] = gw.spec.listeners;
    expect(http).toMatchObject({ name: 'http', protocol: 'HTTP', port: 80 });
    expect(https).toMatchObject({ name: 'https', protocol: 'HTTPS', port: 443, hostname: 'dataplatform.localtest.me', tls: { mode: 'Terminate' } });
  });

  it('terminates TLS with the secret the Certificate writes', () => {
    const cert = find(kind, 'Certificate', 'dataplatform-tls');
    expect(gw.spec.listeners[1].tls.certificateRefs).toEqual([{ kind: 'Secret', name: cert.spec.secretName }]);
    expect(cert.metadata.namespace).toBe(gw.metadata.namespace);
    expect(cert.spec.dnsNames).toEqual(['dataplatform.localtest.me']);
  });

  it('answers plain HTTP only with a redirect to HTTPS', () => {
    const redirect = find(kind, 'HTTPRoute', 'dataplatform-https-redirect');
    expect(redirect.spec.parentRefs).toEqual([{ name: 'dataplatform', sectionName: 'http' }]);
    expect(redirect.spec.rules).toEqual([{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }]);
    const onHttp = kind.filter((o) => o.kind === 'HTTPRoute' && o.spec.parentRefs.some((p: any) => p.sectionName === 'http'));
    expect(onHttp.map((o) => o.metadata.name)).toEqual(['dataplatform-https-redirect']);
  });

  it('routes / to the dashboard and /api to the API, over HTTPS, to existing Services and ports', () => {
    const routes = kind.filter((o) => o.kind === 'HTTPRoute' && o.metadata.name !== 'dataplatform-https-redirect');
    const table = routes.flatMap((r) => r.spec.rules.filter((x: any) => x.backendRefs).map((x: any) => [x.matches[0].path.value, x.backendRefs[0].name, r.spec.parentRefs[0].sectionName]));
    expect(table.sort()).toEqual([['/', 'dashboard', 'https'], ['/api', 'api', 'https']]);
    expectBackendsExist(kind, routes.flatMap((r) => r.spec.rules.flatMap((x: any) => x.backendRefs ?? [])));
  });

  it('marks the dashboard Service for WebSockets (Streamlit)', () => {
    expect(find(kind, 'Service', 'dashboard').spec.ports[0].appProtocol).toBe('kubernetes.io/ws');
    expect(find(kind, 'Service', 'api').spec.ports[0].appProtocol).toBe('http');
  });

  it('never routes /metrics publicly: a metrics path under a route gets a rule without backends', () => {
    // The reference API lives under /api, so /metrics is not reachable through it at all.
    for (const r of kind.filter((o) => o.kind === 'HTTPRoute')) {
      for (const rule of r.spec.rules) for (const m of rule.matches ?? []) if (rule.backendRefs) expect(m.path.value).not.toBe('/metrics');
    }
    const objs = manifestsOf({
      name: 'shop',
      components: { api: { kind: 'web', image: 'ghcr.io/acme/shop:1.0.0', port: 8000, healthPath: '/health', metricsPath: '/metrics', route: { path: '/', subdomain: 'api' } } },
    });
    const route = find(objs, 'HTTPRoute', 'api');
    expect(route.spec.hostnames).toEqual(['api.shop.localtest.me']);
    expect(route.spec.rules[0]).toEqual({ matches: [{ path: { type: 'PathPrefix', value: '/metrics' } }] });
    expect(route.spec.rules[1].backendRefs).toEqual([{ kind: 'Service', name: 'api', port: 8000 }]);
  });
});

describe('Edge in ingress mode (k3d: Traefik)', () => {
  const main = find(k3d, 'Ingress', 'dataplatform');

  it('uses IngressClass traefik with TLS from the certificate secret, on the websecure entrypoint', () => {
    expect(main.spec.ingressClassName).toBe('traefik');
    expect(main.spec.tls).toEqual([{ hosts: ['dataplatform.localtest.me'], secretName: find(k3d, 'Certificate', 'dataplatform-tls').spec.secretName }]);
    expect(main.metadata.annotations['traefik.ingress.kubernetes.io/router.entrypoints']).toBe('websecure');
  });

  it('attaches rate limiting (10 r/s, burst 20), compression and security headers through existing Middlewares', () => {
    const refs = main.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares'].split(',');
    expect(refs).toEqual(['dataplatform-rate-limit@kubernetescrd', 'dataplatform-compress@kubernetescrd', 'dataplatform-security-headers@kubernetescrd']);
    for (const ref of refs) expect(has(k3d, 'Middleware', ref.replace(/^dataplatform-|@kubernetescrd$/g, ''))).toBe(true);
    expect(find(k3d, 'Middleware', 'rate-limit').spec.rateLimit).toEqual({ average: 10, burst: 20 });
  });

  it('redirects plain HTTP with its own router on the web entrypoint', () => {
    const redirect = find(k3d, 'Ingress', 'dataplatform-http-redirect');
    expect(redirect.spec.tls).toBeUndefined();
    expect(redirect.metadata.annotations).toEqual({
      'traefik.ingress.kubernetes.io/router.entrypoints': 'web',
      'traefik.ingress.kubernetes.io/router.middlewares': 'dataplatform-https-redirect@kubernetescrd',
    });
    expect(find(k3d, 'Middleware', 'https-redirect').spec.redirectScheme).toEqual({ scheme: 'https', permanent: true });
  });

  it('routes to existing Services and ports', () => {
    const paths = k3d.filter((o) => o.kind === 'Ingress').flatMap((i) => i.spec.rules.flatMap((r: any) => r.http.paths));
    expectBackendsExist(k3d, paths.map((p: any) => ({ name: p.backend.service.name, port: p.backend.service.port.number })));
    expect(main.spec.rules[0].http.paths.map((p: any) => [p.path, p.backend.service.name])).toEqual([['/api', 'api'], ['/', 'dashboard']]);
  });

  it('denies a metrics path a route would expose, with a deny-all middleware', () => {
    const objs = manifestsOf(
      {
        name: 'shop',
        components: { web: { kind: 'web', role: 'dashboard', image: 'ghcr.io/acme/dash:2.0.0', port: 8050, healthPath: '/', metricsPath: '/metrics' } },
      },
      'k3d',
    );
    const deny = find(objs, 'Ingress', 'shop-deny-metrics');
    expect(deny.spec.rules[0].http.paths[0].path).toBe('/metrics');
    expect(deny.metadata.annotations['traefik.ingress.kubernetes.io/router.middlewares']).toBe('shop-deny-all@kubernetescrd');
    expect(find(objs, 'Middleware', 'deny-all').spec.ipAllowList.sourceRange).toEqual(['127.0.0.1/32']);
  });

  it('refuses a generic Ingress that would expose a metrics path it cannot block', () => {
    expect(() =>
      manifestsOf({
        name: 'shop',
        components: { web: { kind: 'web', image: 'ghcr.io/acme/web:2.0.0', port: 8050, healthPath: '/', metricsPath: '/metrics', route: { path: '/' } } },
        environments: { kind: { edge: { mode: 'ingress', className: 'nginx' } } },
      }),
    ).toThrow(/components\.web\.route: route \/ would expose \/metrics publicly/);
  });
});

describe('Edge in production', () => {
  it('uses the spec host and GatewayClass, and requires them', () => {
    expect(find(prod, 'Gateway', 'dataplatform').spec.gatewayClassName).toBe('eg');
    expect(find(prod, 'Certificate', 'dataplatform-tls').spec.dnsNames).toEqual(['data.example.com']);
    const spec = { name: 'shop', components: { web: { kind: 'web' as const, image: 'ghcr.io/acme/web:2.0.0', port: 8050, healthPath: '/' } } };
    expect(() => manifestsOf(spec, 'prod')).toThrow(SpecError);
    expect(() => manifestsOf(spec, 'prod')).toThrow('environments.prod.edge.host: is required for prod');
  });

  it('leaves internal services out of the edge', () => {
    const objs = manifestsOf({ name: 'shop', components: { web: { kind: 'web', image: 'ghcr.io/acme/web:2.0.0', port: 8050, healthPath: '/', route: false } } });
    expect(objs.filter((o) => ['Gateway', 'HTTPRoute', 'Ingress', 'Certificate'].includes(o.kind))).toEqual([]);
  });
});

describe('several routes per component', () => {
  it('one HTTPRoute per component and host, one rule per path', () => {
    const objs = manifestsOf({
      name: 'shop',
      components: {
        api: { kind: 'web', image: 'acme/api:1.0', port: 8000, healthPath: '/health', routes: [{ path: '/health' }, { path: '/api/v1' }, { path: '/', subdomain: 'admin' }] },
      },
    });
    const routes = objs.filter((o) => o.kind === 'HTTPRoute' && o.metadata.name.startsWith('api'));
    expect(routes.map((o) => [o.metadata.name, o.spec.hostnames[0], o.spec.rules.map((x: any) => x.matches[0].path.value)])).toEqual([
      ['api', 'shop.localtest.me', ['/health', '/api/v1']],
      ['api-2', 'admin.shop.localtest.me', ['/']],
    ]);
  });
});
