/**
 * The public entry (edge) and monitoring parts of the stack spec; model/schema.ts assembles them
 * into the stack.
 */
import { z } from 'zod';
import { dnsLabel, duration, hostname } from './fields';

/** Where traffic comes from, for NetworkPolicies: pods (by namespace and/or labels) or an address range. */
export const peer = z
  .strictObject({
    namespace: dnsLabel.optional().meta({ description: 'Pods in this namespace. Default: any namespace when podLabels is given, else none.' }),
    podLabels: z.record(z.string(), z.string()).optional().meta({ description: 'Pods with these labels. Default: every pod of the namespace.' }),
    cidr: z.string().regex(/^[0-9.]+\/[0-9]{1,2}$/, 'must be an IPv4 CIDR').optional().meta({ description: 'An address range instead of pods, e.g. "172.18.0.0/16".' }),
  })
  .refine((p) => (p.cidr ? !p.namespace && !p.podLabels : Boolean(p.namespace || p.podLabels)), 'must give either cidr, or namespace and/or podLabels')
  .meta({ id: 'Peer', description: 'Where traffic comes from, for NetworkPolicies: pods (by namespace and/or labels) or an address range (cidr), not both.' });
export type Peer = z.output<typeof peer>;

/** Public entry: TLS, host names, and how traffic gets in on each cluster. */
export const edge = z
  .strictObject({
    host: hostname.optional().meta({ description: 'The stack\'s public host. Default: "<name>.localtest.me" locally (it resolves to 127.0.0.1); required for prod.' }),
    mode: z.enum(['gateway', 'ingress']).optional().meta({ description: '`gateway` (Gateway API) or `ingress`. Default: gateway on kind and prod, ingress on k3d.' }),
    className: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a class name such as "traefik"')
      .optional()
      .meta({ description: 'GatewayClass or IngressClass name. Default: cloud-provider-kind (kind), traefik (k3d); required for prod.' }),
    controller: z
      .enum(['traefik', 'generic'])
      .optional()
      .meta({ description: 'Ingress mode: `traefik` adds its Middlewares; `generic` uses plain Ingress fields. Default: traefik on k3d, generic elsewhere.' }),
    allowFrom: z
      .array(peer)
      .min(1)
      .optional()
      .meta({
        description:
          'Where the proxy\'s connections to the services come from (NetworkPolicy ingress). Default: known for classes cloud-provider-kind (the kind Docker network), traefik (kube-system Traefik pods) and eg (namespace envoy-gateway-system); required for other classes.',
      }),
    rateLimit: z
      .strictObject({
        average: z.number().int().min(1).meta({ description: 'Requests per second per client, on average.' }),
        burst: z.number().int().min(1).meta({ description: 'Requests a client may send at once above the average.' }),
      })
      .optional()
      .meta({
        description:
          'Requests per second and burst per client. Enforced by the Traefik Ingress (Middleware), Gateway class eg (Envoy Gateway BackendTrafficPolicy: the average per second, burst not separate) and Gateway class traefik (Middleware by ExtensionRef); other Gateway classes: not enforced, synth warns.',
        default: { average: 10, burst: 20 },
      }),
    tls: z
      .strictObject({
        issuer: z.enum(['local-ca', 'acme']).optional().meta({ description: 'Who signs the certificate. Default: local-ca on kind and k3d, acme in prod.' }),
        email: z
          .string()
          .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an e-mail address')
          .optional()
          .meta({ description: 'ACME account e-mail (expiry notices). Default: none.' }),
        server: z.string().regex(/^https:\/\/\S+$/, 'must be an https URL').optional().meta({ description: 'ACME directory URL. Default: Let\'s Encrypt production.' }),
        caBundle: z
          .string()
          .regex(/^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'must be PEM certificates (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)')
          .optional()
          .meta({ description: 'PEM CA certificates that sign the ACME server\'s own HTTPS certificate, for a private ACME server (step-ca, Pebble). Default: the system\'s CAs.' }),
      })
      .optional()
      .meta({ description: 'Certificates: the local CA (kind, k3d) or ACME HTTP-01 (prod).' }),
  })
  .meta({ id: 'Edge', description: 'Public entry: TLS, host names, and how traffic gets in on each cluster (Gateway API or Ingress).' });

const metricName = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/, 'must be a Prometheus metric name');

/** What the prometheus-operator scrapes and alerts on. */
export const monitoring = z
  .strictObject({
    enabled: z.boolean().optional().meta({ description: 'Render ServiceMonitors, PodMonitors and the PrometheusRule.', default: true }),
    release: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Value of the `release` label the Prometheus selects monitors and rules by.', default: 'kube-prometheus-stack' }),
    interval: duration.optional().meta({ description: 'Scrape interval.', default: '10s' }),
    prometheus: peer.optional().meta({ description: 'The Prometheus pods allowed to scrape. Default: namespace monitoring, label app.kubernetes.io/name=prometheus.' }),
    alerts: z
      .strictObject({
        errorRatio: z.number().gt(0).lt(1).optional().meta({ description: 'Share of API responses that are 5xx before alerting.', default: 0.05 }),
        latencyP95Seconds: z.number().positive().optional().meta({ description: 'p95 latency in seconds before alerting.', default: 1 }),
        backupMaxAgeHours: z.number().positive().optional().meta({ description: 'Hours since the last successful database backup before alerting.', default: 25 }),
        for: duration.optional().meta({ description: 'How long a condition holds before it fires.', default: '5m' }),
        requestsMetric: metricName.optional().meta({ description: 'Request counter of the API.', default: 'http_requests_total' }),
        durationMetric: metricName.optional().meta({ description: 'Request latency histogram of the API.', default: 'http_request_duration_seconds' }),
        statusLabel: z
          .string()
          .regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a Prometheus label name')
          .optional()
          .meta({ description: 'Label of the request counter holding the HTTP status.', default: 'status' }),
      })
      .optional()
      .meta({ description: 'Alert thresholds and the metric names they read (prometheus-fastapi-instrumentator\'s by default).' }),
  })
  .meta({ id: 'Monitoring', description: 'What the prometheus-operator scrapes (every `http` port and metrics path) and alerts on.' });
