/**
 * What every stateful service shares (PostgreSQL, Redis, generic databases): a headless Service
 * that gives the pod its stable name (ready or not, so peers and init scripts can find it), a client
 * Service, and a one-replica StatefulSet whose claims outlive it (Retain on delete and scale-down).
 */
import type { Construct } from 'constructs';
import { k8s } from './k8s';
import type { ResolvedStack } from '../model/presets';
import { meta } from './labels';
import { quantity } from './pod';

export interface DataServiceProps {
  readonly stack: ResolvedStack;
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly selector: Record<string, string>;
  /** Named container ports; both Services expose them under the same names. */
  readonly ports: readonly { name: string; port: number }[];
  readonly template: k8s.PodTemplateSpec;
  /** One ReadWriteOnce claim template per entry, in the preset's storage class. */
  readonly claims: readonly { name: string; storage: string }[];
}

export function dataService(scope: Construct, p: DataServiceProps): { statefulSet: k8s.KubeStatefulSet; service: k8s.KubeService } {
  const ports = p.ports.map((x) => ({ name: x.name, port: x.port, targetPort: k8s.IntOrString.fromString(x.name), protocol: 'TCP' }));
  new k8s.KubeService(scope, 'headless', {
    metadata: meta(p.stack, `${p.name}-headless`, p.labels),
    spec: { clusterIp: 'None', publishNotReadyAddresses: true, selector: p.selector, ports },
  });
  const service = new k8s.KubeService(scope, 'service', {
    metadata: meta(p.stack, p.name, p.labels),
    spec: { type: 'ClusterIP', selector: p.selector, ports },
  });
  const statefulSet = new k8s.KubeStatefulSet(scope, 'statefulset', {
    metadata: meta(p.stack, p.name, p.labels),
    spec: {
      serviceName: `${p.name}-headless`,
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate' },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      selector: { matchLabels: p.selector },
      template: p.template,
      volumeClaimTemplates: p.claims.map((c) => ({
        metadata: { name: c.name, labels: p.selector },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: p.stack.storageClass, resources: { requests: { storage: quantity(c.storage) } } },
      })),
    },
  });
  return { statefulSet, service };
}
