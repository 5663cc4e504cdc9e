import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { ResolvedStack } from '../model/presets';
import { MANAGED_BY } from './labels';

export interface StackNamespaceProps {
  readonly stack: ResolvedStack;
}

/** The stack's namespace. Pod Security Admission enforces "restricted" on it, and warns and audits at the same level. */
export class StackNamespace extends Construct {
  readonly namespace: k8s.KubeNamespace;

  constructor(scope: Construct, id: string, props: StackNamespaceProps) {
    super(scope, id);
    const { stack } = props;
    const pss: Record<string, string> = {};
    for (const mode of ['enforce', 'audit', 'warn']) {
      pss[`pod-security.kubernetes.io/${mode}`] = 'restricted';
      pss[`pod-security.kubernetes.io/${mode}-version`] = 'latest';
    }
    this.namespace = new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        name: stack.namespace,
        labels: { ...pss, 'app.kubernetes.io/part-of': stack.name, 'app.kubernetes.io/managed-by': MANAGED_BY },
      },
    });
  }
}
