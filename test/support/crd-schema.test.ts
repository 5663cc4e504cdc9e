import { App, Chart } from 'cdk8s';
import { describe, expect, it } from 'vitest';
import {
  Certificate,
  CertificateSpecPrivateKeyAlgorithm,
  CertificateSpecPrivateKeyRotationPolicy,
  CertificateSpecUsages,
  ClusterIssuer,
  Issuer,
} from '../../imports/cert-manager.io';
import {
  Gateway,
  GatewaySpecListenersAllowedRoutesNamespacesFrom,
  HttpRoute,
  HttpRouteSpecRulesFiltersType,
  HttpRouteSpecRulesMatchesPathType,
} from '../../imports/gateway.networking.k8s.io';
import {
  PodMonitor,
  PrometheusRule,
  PrometheusRuleSpecGroupsRulesExpr,
  ServiceMonitor,
  ServiceMonitorSpecEndpointsScheme,
  ServiceMonitorSpecEndpointsTargetPort,
} from '../../imports/monitoring.coreos.com';
import {
  BackendTrafficPolicy,
  BackendTrafficPolicySpecRateLimitLocalRulesClientSelectorsSourceCidrType,
  BackendTrafficPolicySpecRateLimitLocalRulesLimitUnit,
} from '../../imports/gateway.envoyproxy.io';
import { Middleware } from '../../imports/traefik.io';
import { SealedSecret } from '../../imports/bitnami.com';
import { isCustomResourceKind, validateAllCustomResources, validateCustomResource } from './crd-schema';

const labels = { 'app.kubernetes.io/name': 'api' };

/** Synthesizes the single object that `build` adds to a fresh chart. */
function synthOne(build: (chart: Chart) => void): any {
  const chart = new Chart(new App({ outdir: 'dist' }), 'test');
  build(chart);
  const objs = chart.toJson();
  expect(objs).toHaveLength(1);
  return objs[0];
}

interface Case {
  kind: string;
  build: (chart: Chart) => void;
  /** Where to add an unknown field (a nested object, to prove depth), and its reported path. */
  unknownIn: (string | number)[];
  unknownPath: string;
  /** A field to give a value of the wrong type, and its reported path. */
  wrongType: (string | number)[];
  wrongValue: unknown;
  wrongPath: string;
}

const cases: Case[] = [
  {
    kind: 'ServiceMonitor',
    build: (chart) =>
      new ServiceMonitor(chart, 'sm', {
        metadata: { name: 'api', namespace: 'shop', labels: { ...labels, release: 'kube-prometheus' } },
        spec: {
          selector: { matchLabels: labels },
          namespaceSelector: { matchNames: ['shop'] },
          endpoints: [
            { port: 'metrics', path: '/metrics', interval: '30s', scheme: ServiceMonitorSpecEndpointsScheme.HTTP },
            { targetPort: ServiceMonitorSpecEndpointsTargetPort.fromNumber(9090), honorLabels: true },
          ],
        },
      }),
    unknownIn: ['spec', 'endpoints', 0],
    unknownPath: 'spec.endpoints[0].bogusField',
    wrongType: ['spec', 'endpoints', 0, 'interval'],
    wrongValue: 30,
    wrongPath: 'spec.endpoints[0].interval',
  },
  {
    kind: 'PodMonitor',
    build: (chart) =>
      new PodMonitor(chart, 'pm', {
        metadata: { name: 'worker', namespace: 'shop' },
        spec: {
          selector: { matchLabels: { 'app.kubernetes.io/name': 'worker' } },
          podMetricsEndpoints: [{ port: 'metrics', path: '/metrics', interval: '15s' }],
        },
      }),
    unknownIn: ['spec', 'podMetricsEndpoints', 0],
    unknownPath: 'spec.podMetricsEndpoints[0].bogusField',
    wrongType: ['spec', 'podMetricsEndpoints'],
    wrongValue: { port: 'metrics' },
    wrongPath: 'spec.podMetricsEndpoints',
  },
  {
    kind: 'PrometheusRule',
    build: (chart) =>
      new PrometheusRule(chart, 'rules', {
        metadata: { name: 'api', namespace: 'shop' },
        spec: {
          groups: [
            {
              name: 'api.rules',
              rules: [
                {
                  alert: 'ApiDown',
                  expr: PrometheusRuleSpecGroupsRulesExpr.fromString('up{job="api"} == 0'),
                  for: '5m',
                  labels: { severity: 'critical' },
                  annotations: { summary: 'api is down' },
                },
                {
                  record: 'job:http_requests:rate5m',
                  expr: PrometheusRuleSpecGroupsRulesExpr.fromString('sum by (job) (rate(http_requests_total[5m]))'),
                },
              ],
            },
          ],
        },
      }),
    unknownIn: ['spec', 'groups', 0, 'rules', 1],
    unknownPath: 'spec.groups[0].rules[1].bogusField',
    wrongType: ['spec', 'groups', 0, 'rules', 0, 'labels', 'severity'],
    wrongValue: 1,
    wrongPath: 'spec.groups[0].rules[0].labels.severity',
  },
  {
    kind: 'Certificate',
    build: (chart) =>
      new Certificate(chart, 'cert', {
        metadata: { name: 'api-tls', namespace: 'shop' },
        spec: {
          secretName: 'api-tls',
          dnsNames: ['api.example.com'],
          duration: '2160h',
          renewBefore: '360h',
          isCa: false, // emitted as `isCA`
          issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: 'letsencrypt' },
          privateKey: {
            algorithm: CertificateSpecPrivateKeyAlgorithm.ECDSA,
            size: 256,
            rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS,
          },
          usages: [CertificateSpecUsages.DIGITAL_SIGNATURE, CertificateSpecUsages.SERVER_AUTH],
        },
      }),
    unknownIn: ['spec', 'issuerRef'],
    unknownPath: 'spec.issuerRef.bogusField',
    wrongType: ['spec', 'privateKey', 'size'],
    wrongValue: '256',
    wrongPath: 'spec.privateKey.size',
  },
  {
    kind: 'ClusterIssuer',
    build: (chart) =>
      new ClusterIssuer(chart, 'le', {
        metadata: { name: 'letsencrypt' },
        spec: {
          acme: {
            server: 'https://acme-v02.api.letsencrypt.org/directory',
            email: 'ops@example.com',
            privateKeySecretRef: { name: 'letsencrypt-account' },
            solvers: [
              {
                http01: {
                  // emitted as `gatewayHTTPRoute`
                  gatewayHttpRoute: { parentRefs: [{ name: 'public', namespace: 'gateway', kind: 'Gateway' }] },
                },
              },
            ],
          },
        },
      }),
    unknownIn: ['spec', 'acme', 'solvers', 0, 'http01', 'gatewayHTTPRoute', 'parentRefs', 0],
    unknownPath: 'spec.acme.solvers[0].http01.gatewayHTTPRoute.parentRefs[0].bogusField',
    wrongType: ['spec', 'acme', 'skipTLSVerify'],
    wrongValue: 'yes',
    wrongPath: 'spec.acme.skipTLSVerify',
  },
  {
    kind: 'Issuer',
    build: (chart) =>
      new Issuer(chart, 'selfsigned', {
        metadata: { name: 'selfsigned', namespace: 'shop' },
        spec: { selfSigned: {} },
      }),
    unknownIn: ['spec', 'selfSigned'],
    unknownPath: 'spec.selfSigned.bogusField',
    wrongType: ['spec', 'selfSigned', 'crlDistributionPoints'],
    wrongValue: 'http://crl.example.com',
    wrongPath: 'spec.selfSigned.crlDistributionPoints',
  },
  {
    kind: 'Gateway',
    build: (chart) =>
      new Gateway(chart, 'gw', {
        metadata: { name: 'public', namespace: 'gateway' },
        spec: {
          gatewayClassName: 'traefik',
          listeners: [
            {
              name: 'https',
              protocol: 'HTTPS',
              port: 443,
              hostname: 'api.example.com',
              tls: { certificateRefs: [{ kind: 'Secret', name: 'api-tls' }] },
              allowedRoutes: { namespaces: { from: GatewaySpecListenersAllowedRoutesNamespacesFrom.ALL } },
            },
          ],
        },
      }),
    unknownIn: ['spec', 'listeners', 0, 'tls'],
    unknownPath: 'spec.listeners[0].tls.bogusField',
    wrongType: ['spec', 'listeners', 0, 'port'],
    wrongValue: '443',
    wrongPath: 'spec.listeners[0].port',
  },
  {
    kind: 'HTTPRoute',
    build: (chart) =>
      new HttpRoute(chart, 'route', {
        metadata: { name: 'api', namespace: 'shop' },
        spec: {
          parentRefs: [{ name: 'public', namespace: 'gateway', sectionName: 'https' }],
          hostnames: ['api.example.com'],
          rules: [
            {
              matches: [{ path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: '/' } }],
              filters: [
                {
                  type: HttpRouteSpecRulesFiltersType.EXTENSION_REF,
                  extensionRef: { group: 'traefik.io', kind: 'Middleware', name: 'secure-headers' },
                },
              ],
              backendRefs: [{ name: 'api', port: 8080 }],
            },
          ],
        },
      }),
    unknownIn: ['spec', 'rules', 0, 'backendRefs', 0],
    unknownPath: 'spec.rules[0].backendRefs[0].bogusField',
    wrongType: ['spec', 'hostnames'],
    wrongValue: 'api.example.com',
    wrongPath: 'spec.hostnames',
  },
  {
    kind: 'Middleware',
    build: (chart) =>
      new Middleware(chart, 'mw', {
        metadata: { name: 'secure-headers', namespace: 'shop' },
        spec: {
          headers: {
            frameDeny: true,
            contentTypeNosniff: true,
            stsSeconds: 31536000,
            stsIncludeSubdomains: true,
            customResponseHeaders: { 'X-Robots-Tag': 'none' },
          },
        },
      }),
    unknownIn: ['spec', 'headers'],
    unknownPath: 'spec.headers.bogusField',
    wrongType: ['spec', 'headers', 'frameDeny'],
    wrongValue: 'true',
    wrongPath: 'spec.headers.frameDeny',
  },
  {
    kind: 'BackendTrafficPolicy',
    build: (chart) =>
      new BackendTrafficPolicy(chart, 'btp', {
        metadata: { name: 'api-rate-limit', namespace: 'shop' },
        spec: {
          targetRefs: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', name: 'api' }],
          rateLimit: {
            local: {
              rules: [
                {
                  // emitted as `sourceCIDR`
                  clientSelectors: [{ sourceCidr: { type: BackendTrafficPolicySpecRateLimitLocalRulesClientSelectorsSourceCidrType.DISTINCT, value: '0.0.0.0/0' } }],
                  limit: { requests: 10, unit: BackendTrafficPolicySpecRateLimitLocalRulesLimitUnit.SECOND },
                },
              ],
            },
          },
        },
      }),
    unknownIn: ['spec', 'rateLimit', 'local', 'rules', 0, 'clientSelectors', 0, 'sourceCIDR'],
    unknownPath: 'spec.rateLimit.local.rules[0].clientSelectors[0].sourceCIDR.bogusField',
    wrongType: ['spec', 'rateLimit', 'local', 'rules', 0, 'limit', 'requests'],
    wrongValue: '10',
    wrongPath: 'spec.rateLimit.local.rules[0].limit.requests',
  },
  {
    kind: 'SealedSecret',
    build: (chart) =>
      new SealedSecret(chart, 'sealed', {
        metadata: { name: 'redis-auth', namespace: 'shop' },
        spec: {
          encryptedData: { password: 'AgBy3i4OJSWK+PiTySYZZA==' },
          template: { metadata: { name: 'redis-auth', namespace: 'shop', labels }, type: 'Opaque' },
        },
      }),
    // template.metadata and encryptedData keep unknown fields (x-kubernetes-preserve-unknown-fields); template does not.
    unknownIn: ['spec', 'template'],
    unknownPath: 'spec.template.bogusField',
    wrongType: ['spec', 'template', 'immutable'],
    wrongValue: 'yes',
    wrongPath: 'spec.template.immutable',
  },
];

function at(obj: any, path: (string | number)[]): any {
  return path.reduce((o, k) => o[k], obj);
}
function setAt(obj: any, path: (string | number)[], value: unknown): void {
  at(obj, path.slice(0, -1))[path[path.length - 1]] = value;
}

describe('CRD imports match the CRD files in crds/', () => {
  describe.each(cases)('$kind', (c) => {
    it('a manifest built with the generated class validates', () => {
      const obj = synthOne(c.build);
      expect(obj.kind).toBe(c.kind);
      expect(isCustomResourceKind(obj.apiVersion, obj.kind)).toBe(true);
      expect(validateCustomResource(obj)).toEqual([]);
    });

    it('rejects an unknown field, naming its path', () => {
      const obj = synthOne(c.build);
      at(obj, c.unknownIn).bogusField = 'x';
      expect(validateCustomResource(obj)).toEqual([`${c.unknownPath}: unknown field`]);
      const top = synthOne(c.build);
      top.spec.bogusTop = 1;
      expect(validateCustomResource(top)).toEqual(['spec.bogusTop: unknown field']);
    });

    it('rejects a value of the wrong type, naming its path', () => {
      const obj = synthOne(c.build);
      setAt(obj, c.wrongType, c.wrongValue);
      const errors = validateCustomResource(obj);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^${c.wrongPath.replace(/[.[\]]/g, '\\$&')}: must be `));
    });

    it('rejects an unknown kind in the same API group', () => {
      const obj = synthOne(c.build);
      obj.kind = `${c.kind}Typo`;
      const errors = validateCustomResource(obj);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^kind: unknown kind ${c.kind}Typo in API group `));
    });
  });
});

describe('validateCustomResource', () => {
  const serviceMonitor = () => synthOne(cases[0].build);

  it('accepts both forms of an int-or-string field and rejects other types', () => {
    const obj = serviceMonitor();
    obj.spec.endpoints[1].targetPort = 'metrics';
    expect(validateCustomResource(obj)).toEqual([]);
    obj.spec.endpoints[1].targetPort = true;
    expect(validateCustomResource(obj)).toEqual(['spec.endpoints[1].targetPort: must be integer or string']);
  });

  it('reports enum violations and missing required fields with their paths', () => {
    const obj = serviceMonitor();
    obj.spec.endpoints[0].scheme = 'ftp';
    delete obj.spec.selector;
    expect(validateCustomResource(obj)).toEqual(
      expect.arrayContaining([
        'spec.selector: required field is missing',
        expect.stringMatching(/^spec\.endpoints\[0\]\.scheme: must be one of \[/),
      ]),
    );
  });

  it('checks metadata only as an object', () => {
    const obj = serviceMonitor();
    obj.metadata.annotations = { 'example.com/anything': 'goes' };
    expect(validateCustomResource(obj)).toEqual([]);
    obj.metadata = 'api';
    expect(validateCustomResource(obj)).toEqual(['metadata: must be object']);
  });

  it('rejects an unknown field at the top level', () => {
    const obj = serviceMonitor();
    obj.extra = true;
    expect(validateCustomResource(obj)).toEqual(['extra: unknown field']);
  });

  it('rejects unknown API groups, unknown versions and unserved versions', () => {
    const obj = serviceMonitor();
    expect(validateCustomResource({ ...obj, apiVersion: 'example.com/v1' })).toEqual([
      'apiVersion: no CRD in crds/ for API group "example.com" (kind ServiceMonitor)',
    ]);
    expect(validateCustomResource({ ...obj, apiVersion: 'monitoring.coreos.com/v2' })).toEqual([
      'apiVersion: ServiceMonitor has no version v2 (served: v1)',
    ]);
    // TLSRoute v1alpha2 is still defined in the standard channel, but no longer served.
    expect(validateCustomResource({ apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TLSRoute' })).toEqual([
      'apiVersion: TLSRoute version v1alpha2 is not served (served: v1)',
    ]);
    expect(isCustomResourceKind('gateway.networking.k8s.io/v1alpha2', 'TLSRoute')).toBe(false);
    expect(isCustomResourceKind('apps/v1', 'Deployment')).toBe(false);
    expect(validateCustomResource({ apiVersion: 'apps/v1', kind: 'Deployment' })).toEqual([
      'apiVersion: no CRD in crds/ for API group "apps" (kind Deployment)',
    ]);
  });

  it('rejects objects without apiVersion or kind', () => {
    expect(validateCustomResource({ kind: 'ServiceMonitor' })).toEqual(['apiVersion: required field is missing']);
    expect(validateCustomResource({ apiVersion: 'monitoring.coreos.com/v1' })).toEqual(['kind: required field is missing']);
    expect(validateCustomResource('nope')).toEqual(['(root): manifest must be an object']);
  });

  it('evaluates Go (RE2) patterns, including the inline (?i) flag', () => {
    // PrometheusRule spec.groups[].partial_response_strategy has pattern ^(?i)(abort|warn)?$,
    // which JS cannot compile as written; the API server matches it case-insensitively.
    const rule = (strategy: string) =>
      synthOne(
        (chart) =>
          new PrometheusRule(chart, 'r', {
            metadata: { name: 'r' },
            spec: {
              groups: [
                {
                  name: 'g',
                  partialResponseStrategy: strategy, // emitted as `partial_response_strategy`
                  rules: [{ record: 'x', expr: PrometheusRuleSpecGroupsRulesExpr.fromString('vector(1)') }],
                },
              ],
            },
          }),
      );
    expect(validateCustomResource(rule('WARN'))).toEqual([]);
    expect(validateCustomResource(rule('abort'))).toEqual([]);
    expect(validateCustomResource(rule('ignore'))).toEqual([
      'spec.groups[0].partial_response_strategy: must match pattern "^(?i)(abort|warn)?$"',
    ]);
  });

  it('prefixes errors with Kind/name when validating many objects', () => {
    const ok = serviceMonitor();
    const bad = serviceMonitor();
    bad.metadata.name = 'broken';
    bad.spec.endpoints[0].interval = 30;
    expect(validateAllCustomResources([ok, bad])).toEqual([
      'ServiceMonitor/broken: spec.endpoints[0].interval: must be string',
    ]);
  });
});
