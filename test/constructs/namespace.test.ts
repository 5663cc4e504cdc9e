import { describe, expect, it } from 'vitest';
import { manifests } from '../support/manifests';
import { ENVIRONMENTS } from '../../model/schema';

describe('StackNamespace', () => {
  it.each(ENVIRONMENTS)('enforces Pod Security "restricted" in %s, and every namespaced object lives in it', (env) => {
    const objs = manifests(undefined, env);
    expect(objs[0].kind).toBe('Namespace');
    expect(objs[0].metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    expect(objs[0].metadata.namespace).toBeUndefined();
    const clusterScoped = ['Namespace', 'ClusterIssuer'];
    for (const o of objs.slice(1)) {
      if (clusterScoped.includes(o.kind)) expect(o.metadata.namespace).toBeUndefined();
      // The local CA certificate lives with cert-manager, whose ClusterIssuer reads its secret there.
      else if (o.kind === 'Certificate' && o.metadata.name === 'stackport-local-ca') expect(o.metadata.namespace).toBe('cert-manager');
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('dataplatform');
    }
  });
});
