import { describe, expect, it } from 'vitest';
import { POLICY_EXCEPTIONS } from '../../charts/policy';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
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
    expect(ann(prod)['stackport.dev/policy-exceptions']).toBe('tag-pinned-images,connection-urls-from-secrets,images-named-by-the-spec');
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

  const exception = (id: string) => POLICY_EXCEPTIONS.find((e) => e.id === id)!;
  const kindStack = resolveStack(referenceStack, 'kind');
  const withImage = (obj: any, image: string) => {
    const copy = structuredClone(obj);
    const spec = copy.spec.template.spec;
    for (const c of [...spec.containers, ...(spec.initContainers ?? [])]) c.image = image;
    return copy;
  };

  it('excepts KSV-0125 only for images the spec or its defaults name, and only where Trivy would flag them', () => {
    const objs = manifests(undefined, 'kind');
    const e = exception('images-named-by-the-spec');
    expect(e.trivy).toEqual(['KSV-0125']);
    const api = find(objs, 'Deployment', 'api');
    expect(ann(api)['stackport.dev/policy-exceptions']).toContain(e.id); // stackport.local/dataplatform-api
    expect(ann(find(objs, 'Deployment', 'pgadmin'))['stackport.dev/policy-exceptions']).toContain(e.id); // dpage/pgadmin4, a default
    // postgres:16.4 has no registry part: Trivy does not flag it, so no exception either.
    expect(ann(find(objs, 'StatefulSet', 'postgres'))['stackport.dev/policy-exceptions'] ?? '').not.toContain(e.id);
    expect(e.applies(withImage(api, 'quay.io/someone/else:1.0'), kindStack)).toBe(false);
    expect(e.applies(withImage(api, 'gcr.io/project/api:1.0'), kindStack)).toBe(false);
    expect(e.applies(withImage(api, 'stackport.local/dataplatform-api:0.1.0'), kindStack)).toBe(true);
  });

  it('excepts KSV-0109 only for a ConfigMap whose secret-like lines are all psql password variables', () => {
    const objs = manifests(undefined, 'kind');
    const e = exception('psql-password-variables');
    expect(ann(find(objs, 'ConfigMap', 'postgres-init'))['stackport.dev/policy-exceptions']).toBe(e.id);
    const cm = (script: string) => ({ kind: 'ConfigMap', metadata: { name: 'x' }, data: { 'init.sh': script } });
    expect(e.applies(cm("ALTER ROLE app WITH LOGIN PASSWORD :'pw';"), kindStack)).toBe(true);
    expect(e.applies(cm("ALTER ROLE app WITH LOGIN PASSWORD :'pw';\npassword: hunter2"), kindStack)).toBe(false);
    expect(e.applies(cm("ALTER ROLE app PASSWORD :'pw'; -- token=abc"), kindStack)).toBe(false);
    expect(e.applies(cm('echo hello'), kindStack)).toBe(false);
  });
});
