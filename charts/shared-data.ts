import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { ResolvedStack } from '../spec/presets';
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
    const used = (field: 'volumes' | 'envFrom') =>
      new Set(Object.values(stack.components).flatMap((c) => (field in c ? ((c as Record<string, unknown>)[field] as (string | { volume: string })[] | undefined) ?? [] : []).map((x) => (typeof x === 'string' ? x : x.volume))));
    const labels = (name: string) => ({ 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY });
    const volumes = used('volumes');
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
    const envFiles = used('envFrom');
    for (const [name, data] of Object.entries(stack.spec.envFiles ?? {})) {
      if (!envFiles.has(name)) continue;
      new k8s.KubeConfigMap(this, `env-${name}`, { metadata: { name, namespace: stack.namespace, labels: labels(name) }, data });
    }
  }
}
