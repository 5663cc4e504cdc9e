/**
 * Resolves the edge (routes, hosts, TLS) and monitoring settings of one environment: preset
 * defaults < the spec's `edge`/`monitoring` < `environments.<env>`.
 */
import { SpecError } from './errors';
import type { Edge, EnvironmentName, Monitoring, Peer, StackSpec, WebComponent } from './schema';

export interface EdgePreset {
  readonly mode: 'gateway' | 'ingress';
  readonly className?: string;
  readonly controller: 'traefik' | 'generic';
  readonly issuer: 'local-ca' | 'acme';
  /** Local presets default the host to <name>.localtest.me, which resolves to 127.0.0.1. */
  readonly localHost: boolean;
}

export interface ResolvedRoute {
  readonly component: string;
  readonly host: string;
  readonly path: string;
  readonly port: number;
  readonly websockets: boolean;
  /** Public paths on this host that reach the component's metrics endpoint and must be blocked. */
  readonly blockedPaths: readonly string[];
}

/**
 * How the edge enforces the spec's rate limit.
 * - `traefik-middleware`: Traefik Ingress; the `rate-limit` Middleware named in the router annotation.
 * - `ingress-annotations`: any other Ingress controller; nginx-style `limit-rps` annotations.
 * - `envoy-gateway-policy`: Envoy Gateway; one BackendTrafficPolicy (local rate limit) per HTTPRoute.
 * - `traefik-extension-ref`: Traefik's Gateway API provider; an `ExtensionRef` filter on each
 *   HTTPRoute rule to the same Middlewares the Traefik Ingress uses.
 * - `none`: a Gateway class with no rate limit stackport knows; synth warns (rateLimitWarning).
 */
export type RateLimitMechanism = 'traefik-middleware' | 'ingress-annotations' | 'envoy-gateway-policy' | 'traefik-extension-ref' | 'none';

/**
 * Gateway API has no core rate limit, so how it is enforced depends on the implementation behind
 * the GatewayClass. This table is that choice; a class not listed here gets `none`.
 */
export const GATEWAY_RATE_LIMIT: Readonly<Record<string, RateLimitMechanism>> = {
  eg: 'envoy-gateway-policy', // Envoy Gateway's GatewayClass (what its quickstart and Helm chart name it)
  traefik: 'traefik-extension-ref', // Traefik v3's kubernetesGateway provider, with its kubernetesCRD provider on
};

export function rateLimitMechanism(mode: 'gateway' | 'ingress', controller: 'traefik' | 'generic', className: string): RateLimitMechanism {
  if (mode === 'ingress') return controller === 'traefik' ? 'traefik-middleware' : 'ingress-annotations';
  return Object.hasOwn(GATEWAY_RATE_LIMIT, className) ? GATEWAY_RATE_LIMIT[className] : 'none';
}

export interface ResolvedEdge {
  readonly mode: 'gateway' | 'ingress';
  readonly className: string;
  readonly controller: 'traefik' | 'generic';
  /** How the rate limit is enforced (see GATEWAY_RATE_LIMIT). */
  readonly rateLimitBy: RateLimitMechanism;
  readonly host: string;
  readonly hosts: readonly string[];
  readonly rateLimit: { readonly average: number; readonly burst: number };
  readonly tls: { readonly issuer: 'local-ca' | 'acme'; readonly email?: string; readonly server: string; readonly caBundle?: string; readonly secretName: string };
  readonly routes: readonly ResolvedRoute[];
  /** Where the proxy connects from. */
  readonly allowFrom: readonly Peer[];
}

export interface ResolvedMonitoring {
  readonly prometheus: Peer;
  readonly release: string;
  readonly interval: string;
  readonly alerts: Required<NonNullable<Monitoring['alerts']>>;
}

export const LETSENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory';

/** Where well-known proxies connect from. cloud-provider-kind's Envoy runs as a container on the kind Docker network. */
const KNOWN_PROXIES: Record<string, Peer[]> = {
  'cloud-provider-kind': [{ cidr: '172.16.0.0/12' }],
  traefik: [{ namespace: 'kube-system', podLabels: { 'app.kubernetes.io/name': 'traefik' } }],
  eg: [{ namespace: 'envoy-gateway-system' }],
};

export function resolveEdge(spec: StackSpec, environment: EnvironmentName, preset: EdgePreset, source: string): ResolvedEdge | undefined {
  const envEdge = spec.environments?.[environment]?.edge;
  const e: Edge = { ...spec.edge, ...envEdge, tls: { ...spec.edge?.tls, ...envEdge?.tls } };
  const web = Object.entries(spec.components).filter((x): x is [string, WebComponent] => x[1].kind === 'web' && (x[1].routes !== undefined || x[1].route !== false));
  if (web.length === 0) return undefined;
  const fail = (field: string, message: string): never => {
    throw new SpecError(source, [{ path: ['environments', environment, 'edge', field], message }]);
  };
  const host = e.host ?? (preset.localHost ? `${spec.name}.localtest.me` : fail('host', `is required for ${environment}: the public host name of the stack`));
  const mode = e.mode ?? preset.mode;
  const controller = e.controller ?? (mode === 'ingress' ? preset.controller : 'generic');
  const className = e.className ?? preset.className ?? fail('className', `is required for ${environment}: the ${mode === 'gateway' ? 'GatewayClass' : 'IngressClass'} of the cluster`);
  const routes = web.flatMap(([name, c]) => (c.routes ?? [c.route || {}]).map((route): ResolvedRoute => {
    const path = route.path ?? (c.role === 'dashboard' ? '/' : '/api');
    const routeHost = route.subdomain ? `${route.subdomain}.${host}` : host;
    const covers = (p: string) => path === '/' || p === path || p.startsWith(`${path}/`);
    return {
      component: name,
      host: routeHost,
      path,
      port: c.port,
      websockets: c.websockets ?? c.role === 'dashboard',
      blockedPaths: c.metricsPath && covers(c.metricsPath) ? [c.metricsPath] : [],
    };
  }));
  const seen = new Map<string, string>();
  for (const r of routes) {
    const key = `${r.host}${r.path}`;
    if (seen.has(key)) throw new SpecError(source, [{ path: ['components', r.component, spec.components[r.component].kind === 'web' && 'routes' in spec.components[r.component] && (spec.components[r.component] as WebComponent).routes ? 'routes' : 'route'], message: `${key} is already routed to ${seen.get(key)}` }]);
    seen.set(key, r.component);
    if (mode === 'ingress' && controller === 'generic' && r.blockedPaths.length > 0) {
      throw new SpecError(source, [
        { path: ['components', r.component, 'route'], message: `route ${r.path} would expose ${r.blockedPaths[0]} publicly and a generic Ingress cannot block it; use a narrower path, edge mode gateway or controller traefik` },
      ]);
    }
  }
  const allowFrom = e.allowFrom ?? KNOWN_PROXIES[className] ?? fail('allowFrom', `is required for class ${className}: where its proxy connects from (namespace and/or podLabels, or cidr)`);
  return {
    allowFrom,
    mode,
    className,
    controller,
    rateLimitBy: rateLimitMechanism(mode, controller, className),
    host,
    hosts: [...new Set(routes.map((r) => r.host))].sort(),
    rateLimit: e.rateLimit ?? { average: 10, burst: 20 },
    tls: { issuer: e.tls?.issuer ?? preset.issuer, email: e.tls?.email, server: e.tls?.server ?? LETSENCRYPT, caBundle: e.tls?.caBundle, secretName: `${spec.name}-tls` },
    routes,
  };
}

/**
 * The synth warning for an edge whose rate limit nothing enforces (a Gateway class missing from
 * GATEWAY_RATE_LIMIT); undefined when it is enforced.
 */
export function rateLimitWarning(environment: EnvironmentName, edge: ResolvedEdge | undefined): string | undefined {
  if (!edge || edge.rateLimitBy !== 'none') return undefined;
  const how: Partial<Record<RateLimitMechanism, string>> = { 'envoy-gateway-policy': 'a BackendTrafficPolicy', 'traefik-extension-ref': 'its Middleware' };
  const known = Object.entries(GATEWAY_RATE_LIMIT).map(([c, m]) => `${c} (${how[m]})`);
  return (
    `${environment}: GatewayClass "${edge.className}" has no known rate-limit policy, so the rate limit ` +
    `(${edge.rateLimit.average} r/s, burst ${edge.rateLimit.burst}) is not enforced; stackport enforces it on ${known.join(' and ')}`
  );
}

export function resolveMonitoring(spec: StackSpec, environment: EnvironmentName): ResolvedMonitoring | undefined {
  const envMon = spec.environments?.[environment]?.monitoring;
  const m: Monitoring = { ...spec.monitoring, ...envMon, alerts: { ...spec.monitoring?.alerts, ...envMon?.alerts } };
  if (m.enabled === false) return undefined;
  return {
    prometheus: m.prometheus ?? { namespace: 'monitoring', podLabels: { 'app.kubernetes.io/name': 'prometheus' } },
    release: m.release ?? 'kube-prometheus-stack',
    interval: m.interval ?? '10s',
    alerts: {
      errorRatio: m.alerts?.errorRatio ?? 0.05,
      latencyP95Seconds: m.alerts?.latencyP95Seconds ?? 1,
      backupMaxAgeHours: m.alerts?.backupMaxAgeHours ?? 25,
      for: m.alerts?.for ?? '5m',
      requestsMetric: m.alerts?.requestsMetric ?? 'http_requests_total',
      durationMetric: m.alerts?.durationMetric ?? 'http_request_duration_seconds',
      statusLabel: m.alerts?.statusLabel ?? 'status',
    },
  };
}
