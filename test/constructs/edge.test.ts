import { describe, expect, it } from 'vitest';
import { find, has, manifests, manifestsOf } from '../support/manifests';
import { validateAllCustomResources } from '../support/crd-schema';
import { synthWarnings } from '../../charts/synth';
import { SpecError } from '../../model/errors';
import { GATEWAY_RATE_LIMIT } from '../../model/edge';
import { parseSpec } from '../../model/load';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
import type { EnvironmentName, StackSpecInput } from '../../model/schema';

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

/** The HTTPRoutes that route to a component (all but the HTTP listener's redirect). */
const routed = (objs: any[]) => objs.filter((o) => o.kind === 'HTTPRoute' && o.spec.rules.some((r: any) => r.backendRefs));
const warningsOf = (input: StackSpecInput, env: EnvironmentName) => synthWarnings(resolveStack(parseSpec(input, 'test spec'), env));

/** A stack with several routes per component, a custom rate limit and the Gateway class given, on kind. */
function manyRoutes(className: string, extra: object = {}): StackSpecInput {
  return {
    name: 'shop',
    components: {
      api: { kind: 'web', image: 'acme/api:1.0', port: 8000, healthPath: '/health', metricsPath: '/metrics', routes: [{ path: '/' }, { path: '/', subdomain: 'admin' }] },
      dash: { kind: 'web', role: 'dashboard', image: 'acme/dash:1.0', port: 8501, healthPath: '/', routes: [{ path: '/', subdomain: 'dash' }] },
    },
    edge: { rateLimit: { average: 5, burst: 15 } },
    environments: { kind: { edge: { className, ...extra } } },
  };
}

describe('the rate limit on each Gateway class', () => {
  it('knows exactly Envoy Gateway (eg) and Traefik (traefik)', () => {
    expect(GATEWAY_RATE_LIMIT).toEqual({ eg: 'envoy-gateway-policy', traefik: 'traefik-extension-ref' });
  });

  describe('eg (prod): one BackendTrafficPolicy per routed HTTPRoute', () => {
    const policies = prod.filter((o) => o.kind === 'BackendTrafficPolicy');

    it('targets each routed HTTPRoute exactly once, in its namespace, and never the redirect', () => {
      const routes = routed(prod);
      expect(routes.map((r) => r.metadata.name).sort()).toEqual(['api', 'dashboard']);
      expect(policies).toHaveLength(routes.length);
      const targets = policies.flatMap((p) => p.spec.targetRefs);
      expect(targets.map((t: any) => t.name).sort()).toEqual(['api', 'dashboard']);
      for (const p of policies) {
        expect(p.apiVersion).toBe('gateway.envoyproxy.io/v1alpha1');
        expect(p.spec.targetRefs).toHaveLength(1);
        const [ref] = p.spec.targetRefs;
        expect(ref).toEqual({ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: expect.any(String) });
        expect(p.metadata.name).toBe(`${ref.name}-rate-limit`);
        expect(find(prod, 'HTTPRoute', ref.name).metadata.namespace).toBe(p.metadata.namespace);
      }
      expect(targets.map((t: any) => t.name)).not.toContain('dataplatform-https-redirect');
    });

    it('limits each client IP (IPv4 and IPv6) to the average per second', () => {
      for (const p of policies) {
        expect(p.spec.rateLimit).toEqual({
          local: {
            rules: [
              { clientSelectors: [{ sourceCIDR: { type: 'Distinct', value: '0.0.0.0/0' } }], limit: { requests: 10, unit: 'Second' } },
              { clientSelectors: [{ sourceCIDR: { type: 'Distinct', value: '::/0' } }], limit: { requests: 10, unit: 'Second' } },
            ],
          },
        });
      }
    });

    it('validates against the pinned BackendTrafficPolicy CRD, emits no Middleware and warns about nothing', () => {
      expect(policies.length).toBeGreaterThan(0);
      expect(validateAllCustomResources(policies)).toEqual([]);
      expect(prod.filter((o) => o.kind === 'Middleware')).toEqual([]);
      expect(synthWarnings(resolveStack(referenceStack, 'prod'))).toEqual([]);
    });

    it('follows the spec: one policy per HTTPRoute with several routes and hosts, the spec average as requests', () => {
      const objs = manifestsOf(manyRoutes('eg'));
      const routes = routed(objs).map((r) => r.metadata.name).sort();
      expect(routes).toEqual(['api', 'api-2', 'dash']);
      const policies = objs.filter((o) => o.kind === 'BackendTrafficPolicy');
      expect(policies.map((p) => p.spec.targetRefs.map((t: any) => t.name)).flat().sort()).toEqual(routes);
      for (const p of policies) for (const rule of p.spec.rateLimit.local.rules) expect(rule.limit).toEqual({ requests: 5, unit: 'Second' });
      expect(validateAllCustomResources(policies)).toEqual([]);
      expect(warningsOf(manyRoutes('eg'), 'kind')).toEqual([]);
    });
  });

  describe('classes with no known rate-limit policy', () => {
    it('kind (cloud-provider-kind): no policy, and a warning naming the environment, the class and the rate limit', () => {
      expect(kind.filter((o) => ['BackendTrafficPolicy', 'Middleware'].includes(o.kind))).toEqual([]);
      expect(synthWarnings(resolveStack(referenceStack, 'kind'))).toEqual([
        'kind: GatewayClass "cloud-provider-kind" has no known rate-limit policy, so the rate limit (10 r/s, burst 20) is not enforced; stackport enforces it on eg (a BackendTrafficPolicy) and traefik (its Middleware)',
      ]);
    });

    it('any other class warns the same way, in whichever environment sets it', () => {
      const spec = manyRoutes('nginx', { allowFrom: [{ namespace: 'nginx-gateway' }] });
      expect(manifestsOf(spec).filter((o) => ['BackendTrafficPolicy', 'Middleware'].includes(o.kind))).toEqual([]);
      const [w] = warningsOf(spec, 'kind');
      expect(w).toMatch(/^kind: GatewayClass "nginx" has no known rate-limit policy, so the rate limit \(5 r\/s, burst 15\) is not enforced/);
      const prodSpec = { ...spec, environments: { prod: { edge: { host: 'shop.example.com', className: 'istio', allowFrom: [{ namespace: 'istio-system' }] } } } };
      expect(warningsOf(prodSpec, 'prod')).toEqual([expect.stringMatching(/^prod: GatewayClass "istio" has no known rate-limit policy.* is not enforced/)]);
    });
  });

  describe('traefik (Traefik\'s Gateway API provider): the Middlewares by ExtensionRef', () => {
    const objs = manifestsOf(manyRoutes('traefik'));

    it('puts ExtensionRef filters to existing Middlewares on every rule that routes to a service', () => {
      const rules = routed(objs).flatMap((r) => r.spec.rules.filter((x: any) => x.backendRefs));
      expect(rules).toHaveLength(3);
      for (const rule of rules) {
        expect(rule.filters).toEqual(
          ['rate-limit', 'compress', 'security-headers'].map((name) => ({ type: 'ExtensionRef', extensionRef: { group: 'traefik.io', kind: 'Middleware', name } })),
        );
        for (const f of rule.filters) expect(find(objs, 'Middleware', f.extensionRef.name).metadata.namespace).toBe('shop');
      }
      expect(find(objs, 'Middleware', 'rate-limit').spec.rateLimit).toEqual({ average: 5, burst: 15 });
    });

    it('leaves the redirect and the blocked metrics rule alone, emits only the Middlewares it names, no policy and no warning', () => {
      expect(find(objs, 'HTTPRoute', 'shop-https-redirect').spec.rules[0].filters).toEqual([{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }]);
      const blocked = find(objs, 'HTTPRoute', 'api').spec.rules[0];
      expect(blocked).toEqual({ matches: [{ path: { type: 'PathPrefix', value: '/metrics' } }] });
      expect(objs.filter((o) => o.kind === 'Middleware').map((o) => o.metadata.name)).toEqual(['rate-limit', 'compress', 'security-headers']);
      expect(objs.filter((o) => o.kind === 'BackendTrafficPolicy')).toEqual([]);
      expect(validateAllCustomResources(objs.filter((o) => ['HTTPRoute', 'Middleware'].includes(o.kind)))).toEqual([]);
      expect(warningsOf(manyRoutes('traefik'), 'kind')).toEqual([]);
    });
  });

  it('k3d (Traefik Ingress) keeps its Middlewares: no policy, no ExtensionRef, no warning', () => {
    expect(k3d.filter((o) => ['BackendTrafficPolicy', 'HTTPRoute', 'Gateway'].includes(o.kind))).toEqual([]);
    expect(k3d.filter((o) => o.kind === 'Middleware').map((o) => o.metadata.name)).toEqual(['https-redirect', 'rate-limit', 'compress', 'security-headers', 'deny-all']);
    expect(synthWarnings(resolveStack(referenceStack, 'k3d'))).toEqual([]);
  });
});
