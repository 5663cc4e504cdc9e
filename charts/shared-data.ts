import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { ResolvedStack } from '../model/presets';
import { MANAGED_BY } from './labels';
import { quantity } from './pod';

export interface SharedDataProps {
  readonly stack: ResolvedStack;
}

/**
 * What several components share: one PersistentVolumeClaim per entry of the spec's `volumes`
 * (compose named volumes used by Deployments, Jobs and CronJobs) and one ConfigMap per entry of
 * `envFiles` (compose env files). Only those some enabled component uses are rendered, so a volume
 * of a local-only tool does not linger unbound in prod.
 */
export class SharedData extends Construct {
  constructor(scope: Construct, id: string, props: SharedDataProps) {
    super(scope, id);
    const { stack } = props;
    const components = Object.values(stack.components);
    const volumes = new Set(components.flatMap((c) => ('volumes' in c ? c.volumes ?? [] : []).map((v) => v.volume)));
    const envFiles = new Set(components.flatMap((c) => ('envFrom' in c ? c.envFrom ?? [] : [])));
    const labels = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY });
    for (const [name, v] of Object.entries(stack.spec.volumes ?? {})) {
      if (!volumes.has(name)) continue;
      new k8s.KubePersistentVolumeClaim(this, `pvc-${name}`, {
        metadata: { name, namespace: stack.namespace, labels: labels(name) },
        spec: {
          accessModes: [v.accessMode ?? 'ReadWriteOnce'],
          storageClassName: stack.storageClass,
          resources: { requests: { storage: quantity(v.storage ?? '1Gi') } },
        },
      });
    }
    for (const [name, data] of Object.entries(stack.spec.envFiles ?? {})) {
      if (!envFiles.has(name)) continue;
      new k8s.KubeConfigMap(this, `env-${name}`, { metadata: { name, namespace: stack.namespace, labels: labels(name) }, data });
    }
  }
}
