import { describe, expect, it } from 'vitest';
import { withImages } from '../../model/images';
import { defineStack } from '../../model/load';
import { referenceStack } from '../../model/reference';
import { container, find, manifests, podSpec } from '../support/manifests';

describe('--image COMPONENT=REF', () => {
  it('sets the image in every environment, over environment overrides', () => {
    const spec = defineStack({
      name: 'shop',
      components: { api: { kind: 'web', image: 'ghcr.io/acme/api:1.0.0', port: 8000, healthPath: '/' } },
      environments: { prod: { edge: { host: 'shop.example.com', className: 'eg' }, components: { api: { image: 'ghcr.io/acme/api:0.9.0', replicas: 3 } } } },
    });
    const digest = `ghcr.io/acme/api@sha256:${'a'.repeat(64)}`;
    const released = withImages(spec, [`api=${digest}`]);
    for (const env of ['kind', 'prod'] as const) expect(container(find(manifests(released, env), 'Deployment', 'api')).image).toBe(digest);
    expect(released.environments?.prod?.components?.api?.replicas).toBe(3);
    expect(spec.components.api).toMatchObject({ image: 'ghcr.io/acme/api:1.0.0' });
  });

  it('reports every bad argument at once, naming what is expected', () => {
    let message = '';
    try {
      withImages(referenceStack, ['api', 'nope=ghcr.io/acme/x:1.0.0', 'api=ghcr.io/acme/API:1', 'worker=ghcr.io/acme/w:2.0.0', 'worker=ghcr.io/acme/w:2.0.1']);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('Invalid stack spec in --image (4 problems)');
    expect(message).toContain('--image[0]: "api" must be COMPONENT=IMAGE');
    expect(message).toContain('--image[1]: no component "nope" (the spec has api, dashboard, worker, migrate, postgres, redis, pgadmin)');
    expect(message).toMatch(/--image\[2\]: api=ghcr.io\/acme\/API:1: must be a container image reference/);
    expect(message).toContain('--image[4]: "worker" is given twice');
  });

  it('runs an unpinned image locally, and prod refuses it with what it needs', () => {
    const released = withImages(referenceStack, ['api=ghcr.io/acme/api', 'dashboard=ghcr.io/acme/d:latest']);
    expect(container(find(manifests(released, 'kind'), 'Deployment', 'api')).image).toBe('ghcr.io/acme/api');
    expect(() => manifests(released, 'prod')).toThrow(/components\.api\.image: "ghcr.io\/acme\/api" has no pinned tag or digest/);
    expect(() => manifests(released, 'prod')).toThrow(/components\.dashboard\.image/);
  });
});

describe('imagePullSecrets', () => {
  const spec = defineStack({ ...(referenceStack as any), imagePullSecrets: ['ghcr-pull'], environments: { ...referenceStack.environments, prod: { ...referenceStack.environments!.prod, imagePullSecrets: ['prod-registry'] } } });
  const templates = (objs: any[]) => objs.filter((o) => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind)).map((o) => podSpec(o));

  it('reach every pod template, and an environment can replace them', () => {
    const kind = templates(manifests(spec, 'kind'));
    expect(kind.length).toBeGreaterThanOrEqual(7);
    for (const t of kind) expect(t.imagePullSecrets).toEqual([{ name: 'ghcr-pull' }]);
    for (const t of templates(manifests(spec, 'prod'))) expect(t.imagePullSecrets).toEqual([{ name: 'prod-registry' }]);
  });

  it('are absent unless asked for', () => {
    for (const t of templates(manifests())) expect(t.imagePullSecrets).toBeUndefined();
  });
});
