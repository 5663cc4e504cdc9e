import { describe, expect, it } from 'vitest';
import { defineStack } from '../../model/load';
import { referenceStack } from '../../model/reference';
import { requiredSecrets } from '../../model/relations';
import { storeKeys } from '../../ops/secrets';
import { isCustomResourceKind, validateAllCustomResources } from '../support/crd-schema';
import { resolveStack } from '../../model/presets';
import { manifests } from '../support/manifests';

const withStore = defineStack({
  ...(referenceStack as any),
  environments: {
    ...referenceStack.environments,
    prod: { ...referenceStack.environments!.prod, secrets: { provider: 'external-secrets', store: { name: 'vault' }, keyPrefix: 'teams/data/' } },
  },
});

describe('ExternalSecrets (prod with secrets.provider: external-secrets)', () => {
  const prod = manifests(withStore, 'prod');
  const externals = prod.filter((o) => o.kind === 'ExternalSecret');

  it('asks the store for exactly the Secrets the stack needs, one property per key', () => {
    const needed = requiredSecrets(resolveStack(withStore, 'prod').spec);
    expect(externals.map((e) => e.metadata.name).sort()).toEqual(needed.map((r) => r.name).sort());
    expect(needed.length).toBeGreaterThanOrEqual(5);
    const pg = externals.find((e) => e.metadata.name === 'postgres-user-app');
    expect(pg.spec).toEqual({
      refreshInterval: '1h',
      secretStoreRef: { name: 'vault', kind: 'ClusterSecretStore' },
      target: { name: 'postgres-user-app', creationPolicy: 'Owner', deletionPolicy: 'Retain' },
      data: [{ secretKey: 'password', remoteRef: { key: 'teams/data/postgres-user-app', property: 'password' } }],
    });
    const apis = externals.find((e) => e.metadata.name === 'external-apis');
    expect(apis.spec.data.map((d: any) => d.secretKey)).toEqual(['fmp-api-key', 'fred-api-key']);
    for (const e of externals) expect(e.metadata.namespace).toBe('dataplatform');
  });

  it('validates against the pinned ExternalSecret CRD', () => {
    expect(externals.length).toBeGreaterThan(0);
    expect(validateAllCustomResources(prod.filter((o) => isCustomResourceKind(o.apiVersion, o.kind)))).toEqual([]);
  });

  it('is only where the environment asks for it', () => {
    expect(manifests(withStore, 'kind').some((o) => o.kind === 'ExternalSecret')).toBe(false);
    expect(manifests(undefined, 'prod').some((o) => o.kind === 'ExternalSecret')).toBe(false);
  });

  it('makes the secrets command list what the store must hold instead of writing values', () => {
    expect(storeKeys(withStore, 'kind')).toBeUndefined();
    const keys = storeKeys(withStore, 'prod')!;
    expect(keys).toContain('teams/data/postgres-superuser: password (random passwords you generate)');
    expect(keys).toContain('teams/data/external-apis: fmp-api-key, fred-api-key');
  });

  it('rejects an unknown provider, naming the field', () => {
    expect(() => defineStack({ ...(referenceStack as any), environments: { prod: { secrets: { provider: 'vault', store: { name: 'x' } } } } }, 'stack.yaml')).toThrow(
      /environments\.prod\.secrets\.provider/,
    );
  });
});
