/**
 * The public entry (edge) and monitoring parts of the stack spec; model/schema.ts assembles them
 * into the stack.
 */
import { z } from 'zod';
import { dnsLabel, duration, hostname } from './fields';

/** Where traffic comes from, for NetworkPolicies: pods (by namespace and/or labels) or an address range. */
export const peer = z
  .strictObject({
    namespace: dnsLabel.optional(),
    podLabels: z.record(z.string(), z.string()).optional(),
    cidr: z.string().regex(/^[0-9.]+\/[0-9]{1,2}$/, 'must be an IPv4 CIDR').optional(),
  })
  .refine((p) => (p.cidr ? !p.namespace && !p.podLabels : Boolean(p.namespace || p.podLabels)), 'must give either cidr, or namespace and/or podLabels');
export type Peer = z.output<typeof peer>;

/** Public entry: TLS, host names, and how traffic gets in on each cluster. */
export const edge = z.strictObject({
  /** The stack's public host. @default "<name>.localtest.me" locally (it resolves to 127.0.0.1); required for prod */
  host: hostname.optional(),
  /** `gateway` (Gateway API) or `ingress`. @default gateway on kind and prod, ingress on k3d */
  mode: z.enum(['gateway', 'ingress']).optional(),
  /** GatewayClass or IngressClass name. @default cloud-provider-kind (kind), traefik (k3d); required for prod */
  className: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a class name such as "traefik"').optional(),
  /** Ingress mode: `traefik` adds its Middlewares; `generic` uses plain Ingress fields. @default traefik on k3d, generic elsewhere */
  controller: z.enum(['traefik', 'generic']).optional(),
  /**
   * Where the proxy's connections to the services come from (NetworkPolicy ingress).
   * @default known for classes cloud-provider-kind (the kind Docker network), traefik (kube-system
   * Traefik pods) and eg (namespace envoy-gateway-system); required for other classes
   */
  allowFrom: z.array(peer).min(1).optional(),
  /** Requests per second and burst per client (Traefik). @default { average: 10, burst: 20 } */
  rateLimit: z.strictObject({ average: z.number().int().min(1), burst: z.number().int().min(1) }).optional(),
  /** Certificates: the local CA (kind, k3d) or ACME HTTP-01 (prod). */
  tls: z
    .strictObject({
      issuer: z.enum(['local-ca', 'acme']).optional(),
      /** ACME account e-mail (expiry notices). @default none */
      email: z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an e-mail address').optional(),
      /** @default Let's Encrypt production */
      server: z.string().regex(/^https:\/\/\S+$/, 'must be an https URL').optional(),
    })
    .optional(),
});

/** What the prometheus-operator scrapes and alerts on. */
export const monitoring = z.strictObject({
  /** @default true */
  enabled: z.boolean().optional(),
  /** Value of the `release` label the Prometheus selects monitors and rules by. @default kube-prometheus-stack */
  release: z.string().min(1).optional(),
  /** @default 10s */
  interval: duration.optional(),
  /** The Prometheus pods allowed to scrape. @default namespace monitoring, label app.kubernetes.io/name=prometheus */
  prometheus: peer.optional(),
  alerts: z
    .strictObject({
      /** Share of API responses that are 5xx before alerting. @default 0.05 */
      errorRatio: z.number().gt(0).lt(1).optional(),
      /** p95 latency in seconds before alerting. @default 1 */
      latencyP95Seconds: z.number().positive().optional(),
      /** Hours since the last successful database backup before alerting. @default 25 */
      backupMaxAgeHours: z.number().positive().optional(),
      /** How long a condition holds before it fires. @default 5m */
      for: duration.optional(),
      /** Request counter and latency histogram (prometheus-fastapi-instrumentator's names by default). */
      requestsMetric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name').optional(),
      durationMetric: z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name').optional(),
      statusLabel: z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name').optional(),
    })
    .optional(),
});

