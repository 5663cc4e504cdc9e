import { describe, expect, it } from 'vitest';
import { find, manifests } from '../support/manifests';

const ann = (o: any) => o.metadata.annotations ?? {};

describe('policy exceptions', () => {
  it('suppresses the pull-policy findings only where images are loaded locally', () => {
    const kind = find(manifests(undefined, 'kind'), 'Deployment', 'api');
    expect(ann(kind)['kube-score/ignore']).toContain('container-image-pull-policy');
    expect(Object.values(ann(kind))).toContainEqual(expect.stringMatching(/^CKV_K8S_15=local-images: kind and k3d run images loaded/));
    const prod = find(manifests(undefined, 'prod'), 'Deployment', 'api');
    expect(ann(prod)['kube-score/ignore']).toBeUndefined();
    expect(Object.values(ann(prod)).some((v) => String(v).startsWith('CKV_K8S_15'))).toBe(false);
    expect(ann(prod)['stackport.dev/policy-exceptions']).toBe('tag-pinned-images,connection-urls-from-secrets');
  });

  it('names the capability exception only on pgAdmin and the secret-env one only where env comes from Secrets', () => {
    const objs = manifests(undefined, 'kind');
    expect(ann(find(objs, 'Deployment', 'pgadmin'))['stackport.dev/policy-exceptions']).toContain('file-capability-binary');
    expect(ann(find(objs, 'Deployment', 'api'))['stackport.dev/policy-exceptions']).not.toContain('file-capability-binary');
    expect(ann(find(objs, 'StatefulSet', 'postgres'))['stackport.dev/policy-exceptions']).not.toContain('connection-urls-from-secrets');
    expect(ann(find(objs, 'Job', 'migrate'))['stackport.dev/policy-exceptions']).toContain('connection-urls-from-secrets');
  });

  it('numbers Checkov skips from 1 without gaps', () => {
    const keys = Object.keys(ann(find(manifests(undefined, 'kind'), 'Deployment', 'pgadmin'))).filter((k) => k.startsWith('checkov.io/skip')).sort();
    expect(keys).toEqual(keys.map((_, i) => `checkov.io/skip${i + 1}`).sort());
  });
});
