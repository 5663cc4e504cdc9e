import { describe, expect, it } from 'vitest';
import { isBuiltInKind, validateAll, validateK8sObject } from './k8s-schema';

const labels = { 'app.kubernetes.io/name': 'api' };
const podSpec = () => ({
  containers: [
    {
      name: 'api',
      image: 'ghcr.io/example/api:1.2.3',
      ports: [{ name: 'http', containerPort: 8080 }],
      resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: 1, memory: '256Mi' } },
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
    },
  ],
});
const deployment = (): any => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'api', namespace: 'shop', labels, annotations: { 'example.com/note': 'x' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: labels },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
    template: { metadata: { labels }, spec: podSpec() },
  },
});

const valid: any[] = [
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
  deployment(),
  {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db' },
    spec: {
      serviceName: 'db',
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec() },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
        },
      ],
    },
  },
  {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'report' },
    spec: {
      schedule: '0 3 * * *',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      jobTemplate: { spec: { backoffLimit: 2, template: { spec: { ...podSpec(), restartPolicy: 'Never' } } } },
    },
  },
  {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'api' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }],
    },
  },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'api' }, spec: { minAvailable: 1, selector: { matchLabels: labels } } },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'api' },
    spec: {
      podSelector: { matchLabels: labels },
      policyTypes: ['Ingress', 'Egress'],
      // `from` is `_from` in client-node's JS names; the JSON key must still be accepted.
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080, protocol: 'TCP' }] }],
      egress: [{ to: [{ namespaceSelector: {} }], ports: [{ port: 'dns', protocol: 'UDP' }] }],
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'api' },
    spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  },
  { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'api' }, type: 'Opaque', stringData: { password: 'x' }, data: { token: 'dG9rZW4=' } },
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'api' }, data: { 'app.yaml': 'a: 1' } },
  { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api' }, automountServiceAccountToken: false },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'api' },
    spec: {
      ingressClassName: 'traefik',
      tls: [{ hosts: ['shop.local'], secretName: 'shop-tls' }],
      rules: [
        {
          host: 'shop.local',
          http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'api', port: { name: 'http' } } } }] },
        },
      ],
    },
  },
];

describe('validateK8sObject', () => {
  it.each(valid.map((o) => [`${o.kind}/${o.metadata.name}`, o]))('accepts a valid %s', (_name, obj) => {
    expect(validateK8sObject(obj)).toEqual([]);
  });

  it('rejects an unknown top-level spec field', () => {
    const d = deployment();
    d.spec.bogus = true;
    expect(validateK8sObject(d)).toEqual(['spec.bogus: unknown field']);
  });

  it('rejects an unknown container field, with its path', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].foo = 'bar';
    expect(validateK8sObject(d)).toEqual(['spec.template.spec.containers[0].foo: unknown field']);
  });

  it('rejects an unknown metadata field (ObjectMeta is checked too)', () => {
    const d = deployment();
    d.metadata.label = { a: 'b' };
    expect(validateK8sObject(d)).toEqual(['metadata.label: unknown field']);
  });

  it('rejects unknown fields deep inside arrays and maps of models', () => {
    const sts = structuredClone(valid[2]);
    sts.spec.volumeClaimTemplates[0].spec.size = '1Gi';
    expect(validateK8sObject(sts)).toEqual(['spec.volumeClaimTemplates[0].spec.size: unknown field']);
  });

  it('rejects a wrong type', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].ports[0].containerPort = 'x';
    expect(validateK8sObject(d)).toEqual(['spec.template.spec.containers[0].ports[0].containerPort: must be integer']);
  });

  it('rejects a non int-or-string value once, not once per branch', () => {
    const svc = structuredClone(valid[7]);
    svc.spec.ports[0].targetPort = true;
    expect(validateK8sObject(svc)).toEqual(['spec.ports[0].targetPort: must be string or integer']);
  });

  it('rejects a value outside an enum', () => {
    const d = deployment();
    d.spec.strategy.type = 'BlueGreen';
    expect(validateK8sObject(d)[0]).toMatch(/^spec\.strategy\.type: must be one of .*Recreate/);
  });

  it('rejects a missing required field', () => {
    const d = deployment();
    delete d.spec.template.spec.containers[0].name;
    expect(validateK8sObject(d)).toEqual(['spec.template.spec.containers[0].name: required field is missing']);
  });

  it('rejects an unknown kind instead of skipping it', () => {
    expect(validateK8sObject({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } })).toEqual([
      'kind: unknown apiVersion/kind apps/v1/Deploymnet (not a built-in Kubernetes resource)',
    ]);
    // A CRD is not built in either; callers must handle CRDs themselves.
    expect(validateK8sObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'ServiceMonitor' })[0]).toMatch(/^kind: unknown/);
    // A sub-schema is a file in kubernetes-models but not a resource.
    expect(validateK8sObject({ apiVersion: 'apps/v1', kind: 'DeploymentSpec' })[0]).toMatch(/^kind: unknown/);
    expect(validateK8sObject({ kind: 'Deployment' })).toEqual(['apiVersion: required field is missing']);
  });

  it('resolves the apiVersion, not just the kind', () => {
    expect(isBuiltInKind('autoscaling/v2', 'HorizontalPodAutoscaler')).toBe(true);
    expect(isBuiltInKind('apps/v1', 'HorizontalPodAutoscaler')).toBe(false);
    expect(isBuiltInKind('v1', 'Event')).toBe(true); // client-node names it CoreV1Event
    expect(isBuiltInKind('events.k8s.io/v1', 'Event')).toBe(true);
  });
});

describe('validateAll', () => {
  it('prefixes each error with Kind/name', () => {
    const d = deployment();
    d.spec.template.spec.containers[0].foo = 1;
    d.spec.replicas = 'two';
    const errors = validateAll([...valid, d]);
    expect(errors).toEqual([
      'Deployment/api: spec.replicas: must be integer',
      'Deployment/api: spec.template.spec.containers[0].foo: unknown field',
    ]);
  });

  it('is empty for all valid objects', () => {
    expect(validateAll(valid)).toEqual([]);
  });
});
