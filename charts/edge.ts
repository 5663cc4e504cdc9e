import { Construct } from 'constructs';
import { k8s } from './k8s';
import {
  Gateway,
  GatewaySpecListenersAllowedRoutesNamespacesFrom,
  GatewaySpecListenersTlsMode,
  HttpRoute,
  HttpRouteSpecRulesFiltersRequestRedirectScheme,
  HttpRouteSpecRulesFiltersRequestRedirectStatusCode,
  HttpRouteSpecRulesFiltersType,
  HttpRouteSpecRulesMatchesPathType,
} from '../imports/gateway.networking.k8s.io';
import {
  BackendTrafficPolicy,
  BackendTrafficPolicySpecRateLimitLocalRulesClientSelectorsSourceCidrType,
  BackendTrafficPolicySpecRateLimitLocalRulesLimitUnit,
} from '../imports/gateway.envoyproxy.io';
import { Middleware, type MiddlewareSpec } from '../imports/traefik.io';
import type { ResolvedEdge, ResolvedRoute } from '../model/edge';
import type { ResolvedStack } from '../model/presets';
import { Certificates } from './certificates';
import { MANAGED_BY } from './labels';

export interface EdgeProps {
  readonly stack: ResolvedStack;
  readonly edge: ResolvedEdge;
}

/**
 * The public entry: HTTPS only, with the same routes in both modes.
 * - `gateway`: a Gateway with an HTTPS listener terminating TLS from the cert-manager secret and
 *   an HTTP listener whose only route redirects to HTTPS; one HTTPRoute per routed service. Metrics
 *   paths get a rule without backends, which Gateway API implementations answer with 500. The rate
 *   limit depends on the class (model/edge.ts GATEWAY_RATE_LIMIT): Envoy Gateway (`eg`) gets a
 *   BackendTrafficPolicy per HTTPRoute, Traefik (`traefik`) the Traefik Ingress's Middlewares as
 *   ExtensionRef filters; other classes get none (synth warns).
 * - `ingress`: one Ingress per host with TLS and the class. With Traefik, Middlewares rate-limit,
 *   compress and set security headers on the HTTPS router, an HTTP-only Ingress redirects to HTTPS,
 *   and a third Ingress denies metrics paths. Other controllers get nginx-style annotations.
 */
export class Edge extends Construct {
  readonly gatewayName: string;

  constructor(scope: Construct, id: string, props: EdgeProps) {
    super(scope, id);
    const { stack, edge } = props;
    this.gatewayName = stack.name;
    new Certificates(this, 'tls', { stack, edge, gatewayName: this.gatewayName });
    if (edge.mode === 'gateway') this.gateway(stack, edge);
    else this.ingress(stack, edge);
  }

  private labels(stack: ResolvedStack) {
    return { 'app.kubernetes.io/name': 'edge', 'app.kubernetes.io/component': 'edge', 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY };
  }

  private gateway(stack: ResolvedStack, edge: ResolvedEdge) {
    const labels = this.labels(stack);
    const same = { namespaces: { from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SAME } };
    new Gateway(this, 'gateway', {
      metadata: { name: this.gatewayName, namespace: stack.namespace, labels },
      spec: {
        gatewayClassName: edge.className,
        listeners: [
          { name: 'http', protocol: 'HTTP', port: 80, allowedRoutes: same },
          ...edge.hosts.map((host, i) => ({
            name: i === 0 ? 'https' : `https-${i}`,
            protocol: 'HTTPS',
            port: 443,
            hostname: host,
            allowedRoutes: same,
            tls: { mode: GatewaySpecListenersTlsMode.TERMINATE, certificateRefs: [{ kind: 'Secret', name: edge.tls.secretName }] },
          })),
        ],
      },
    });
    const httpsListeners = edge.hosts.map((_, i) => (i === 0 ? 'https' : `https-${i}`));

    new HttpRoute(this, 'redirect', {
      metadata: { name: `${stack.name}-https-redirect`, namespace: stack.namespace, labels },
      spec: {
        parentRefs: [{ name: this.gatewayName, sectionName: 'http' }],
        hostnames: [...edge.hosts],
        rules: [
          {
            filters: [
              {
                type: HttpRouteSpecRulesFiltersType.REQUEST_REDIRECT,
                requestRedirect: { scheme: HttpRouteSpecRulesFiltersRequestRedirectScheme.HTTPS, statusCode: HttpRouteSpecRulesFiltersRequestRedirectStatusCode.VALUE_301 },
              },
            ],
          },
        ],
      },
    });

    // One HTTPRoute per component and host (named after the component; further hosts get a suffix), one rule per path.
    const groups = new Map<string, (typeof edge.routes)[number][]>();
    for (const r of edge.routes) groups.set(`${r.component} ${r.host}`, [...(groups.get(`${r.component} ${r.host}`) ?? []), r]);
    const perComponent = new Map<string, number>();
    const traefik = edge.rateLimitBy === 'traefik-extension-ref';
    if (traefik) this.traefikMiddlewares(stack, edge, TRAEFIK_HTTPS_MIDDLEWARES);
    // Traefik's Gateway provider runs a Middleware named by an ExtensionRef filter (same namespace).
    const filters = traefik
      ? TRAEFIK_HTTPS_MIDDLEWARES.map((name) => ({ type: HttpRouteSpecRulesFiltersType.EXTENSION_REF, extensionRef: { group: 'traefik.io', kind: 'Middleware', name } }))
      : undefined;
    for (const rs of groups.values()) {
      const r = rs[0];
      const n = (perComponent.get(r.component) ?? 0) + 1;
      perComponent.set(r.component, n);
      const name = n === 1 ? r.component : `${r.component}-${n}`;
      new HttpRoute(this, `route-${name}`, {
        metadata: { name, namespace: stack.namespace, labels },
        spec: {
          parentRefs: httpsListeners.map((sectionName) => ({ name: this.gatewayName, sectionName })),
          hostnames: [r.host],
          rules: [
            ...[...new Set(rs.flatMap((x) => x.blockedPaths))].map((p) => ({ matches: [{ path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: p } }] })),
            ...rs.map((x) => ({
              matches: [{ path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: x.path } }],
              filters,
              backendRefs: [{ kind: 'Service', name: x.component, port: x.port }],
            })),
          ],
        },
      });
      if (edge.rateLimitBy === 'envoy-gateway-policy') this.envoyRateLimit(stack, edge, name);
    }
  }

  /**
   * Envoy Gateway: the spec's rate limit as a BackendTrafficPolicy on one HTTPRoute, a local rate
   * limit with one bucket per client IP (`sourceCIDR` type Distinct; one rule for IPv4, one for IPv6).
   *
   * Mapping: Traefik's `average: A, burst: B` is a token bucket that refills at A per second and
   * holds B. Envoy's local rate limit is a token bucket too, but Envoy Gateway fills it whole once
   * per unit (`requests: N, unit: Second` holds N and gets N back every second), so it has no
   * separate burst size. We use `requests: A, unit: Second`: the sustained rate is the spec's
   * average exactly; a burst is at most A at once (2A across a refill boundary) instead of B.
   * Stricter than Traefik when B > A, never looser on average. The bucket is per Envoy replica
   * (that is what local means): with N proxy replicas behind a load balancer a client can get up to
   * N times the rate.
   */
  private envoyRateLimit(stack: ResolvedStack, edge: ResolvedEdge, route: string) {
    const limit = { requests: edge.rateLimit.average, unit: BackendTrafficPolicySpecRateLimitLocalRulesLimitUnit.SECOND };
    const perClient = (cidr: string) => ({
      clientSelectors: [{ sourceCidr: { type: BackendTrafficPolicySpecRateLimitLocalRulesClientSelectorsSourceCidrType.DISTINCT, value: cidr } }],
      limit,
    });
    new BackendTrafficPolicy(this, `rate-limit-${route}`, {
      metadata: { name: `${route}-rate-limit`, namespace: stack.namespace, labels: this.labels(stack) },
      spec: {
        targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: route }],
        rateLimit: { local: { rules: [perClient('0.0.0.0/0'), perClient('::/0')] } },
      },
    });
  }

  private ingress(stack: ResolvedStack, edge: ResolvedEdge) {
    const labels = this.labels(stack);
    const traefik = edge.controller === 'traefik';
    const mw = (name: string) => `${stack.namespace}-${name}@kubernetescrd`;
    if (traefik) this.traefikMiddlewares(stack, edge, ['https-redirect', ...TRAEFIK_HTTPS_MIDDLEWARES, 'deny-all']);

    for (const host of edge.hosts) {
      const routes = edge.routes.filter((r) => r.host === host);
      const name = host === edge.host ? stack.name : `${stack.name}-${host.split('.')[0]}`;
      const ingress = (suffix: string, paths: k8s.HttpIngressPath[], annotations: Record<string, string>, tls = true) =>
        new k8s.KubeIngress(this, `ingress-${name}${suffix}`, {
          metadata: { name: `${name}${suffix}`, namespace: stack.namespace, labels, annotations },
          spec: {
            ingressClassName: edge.className,
            tls: tls ? [{ hosts: [host], secretName: edge.tls.secretName }] : undefined,
            rules: [{ host, http: { paths } }],
          },
        });
      const paths = routes.map((r) => ingressPath(r.path, r));
      if (!traefik) {
        ingress('', paths, {
          // Understood by nginx-compatible controllers; others ignore them.
          'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true',
          'nginx.ingress.kubernetes.io/limit-rps': String(edge.rateLimit.average),
          'nginx.ingress.kubernetes.io/limit-burst-multiplier': String(Math.max(1, Math.round(edge.rateLimit.burst / edge.rateLimit.average))),
          ...(routes.some((r) => r.websockets) ? { 'nginx.ingress.kubernetes.io/proxy-read-timeout': '3600', 'nginx.ingress.kubernetes.io/proxy-send-timeout': '3600' } : {}),
        });
        continue;
      }
      const router = (entrypoint: string, middlewares: string[]) => ({
        'traefik.ingress.kubernetes.io/router.entrypoints': entrypoint,
        'traefik.ingress.kubernetes.io/router.middlewares': middlewares.map(mw).join(','),
      });
      ingress('', paths, router('websecure', TRAEFIK_HTTPS_MIDDLEWARES));
      // Traefik makes a router with TLS answer HTTPS only, so plain HTTP needs its own router: it only redirects.
      ingress('-http-redirect', [ingressPath('/', routes[0])], router('web', ['https-redirect']), false);
      const blocked = routes.flatMap((r) => r.blockedPaths.map((p) => ingressPath(p, r)));
      if (blocked.length > 0) ingress('-deny-metrics', blocked, router('websecure', ['deny-all']));
    }
  }

  /** The named Traefik Middlewares, in the order given. */
  private traefikMiddlewares(stack: ResolvedStack, edge: ResolvedEdge, names: readonly string[]) {
    const labels = this.labels(stack);
    const specs: Record<string, MiddlewareSpec> = {
      'https-redirect': { redirectScheme: { scheme: 'https', permanent: true } },
      'rate-limit': { rateLimit: { average: edge.rateLimit.average, burst: edge.rateLimit.burst } },
      compress: { compress: {} },
      'security-headers': { headers: { stsSeconds: 31536000, stsIncludeSubdomains: true, contentTypeNosniff: true, frameDeny: true, referrerPolicy: 'strict-origin-when-cross-origin' } },
      // Only loopback may pass: nothing outside the proxy itself, so every public request gets 403.
      'deny-all': { ipAllowList: { sourceRange: ['127.0.0.1/32'] } },
    };
    for (const name of names) new Middleware(this, `mw-${name}`, { metadata: { name, namespace: stack.namespace, labels }, spec: specs[name] });
  }
}

/** What Traefik runs on every HTTPS request it routes to a service, Ingress and Gateway alike, in this order. */
const TRAEFIK_HTTPS_MIDDLEWARES = ['rate-limit', 'compress', 'security-headers'];

function ingressPath(path: string, r: ResolvedRoute): k8s.HttpIngressPath {
  return { path, pathType: 'Prefix', backend: { service: { name: r.component, port: { number: r.port } } } };
}
