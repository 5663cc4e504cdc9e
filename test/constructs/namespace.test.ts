import { describe, expect, it } from 'vitest';
import { manifests } from '../support/manifests';
import { ENVIRONMENTS } from '../../spec/schema';

describe('StackNamespace', () => {
  it.each(ENVIRONMENTS)('enforces Pod Security "restricted" in %s, and every object lives in it', (env) => {
    const objs = manifests(undefined, env);
    expect(objs[0].kind).toBe('Namespace');
    expect(objs[0].metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'restricted',
      'pod-security.kubernetes.io/enforce-version': 'latest',
      'pod-security.kubernetes.io/warn': 'restricted',
      'pod-security.kubernetes.io/audit': 'restricted',
    });
    expect(objs[0].metadata.namespace).toBeUndefined();
    for (const o of objs.slice(1)) expect(o.metadata.namespace).toBe('dataplatform');
  });
});
