import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildManifests, synthesize } from '../../charts/synth';
import { SpecError } from '../../model/errors';
import { defineStack } from '../../model/load';
import { referenceStack } from '../../model/reference';
import { resolveStack } from '../../model/presets';
import { requiredSecrets } from '../../model/relations';
import { sealSecrets } from '../../ops/secrets';
import { isCustomResourceKind, validateAllCustomResources } from '../support/crd-schema';
import { manifests } from '../support/manifests';
import { controllerKeys, docsOf, sealedStack } from '../support/sealed';

const spec = sealedStack();
const keys = controllerKeys(2048);

/** A project folder whose prod Secrets are sealed; returns the spec file and the sealed file. */
function sealedProject(): { specFile: string; sealed: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-sealed-synth-'));
  const specFile = join(dir, 'stack.yaml');
  sealSecrets(spec, 'prod', keys.cert, { specFile, env: { FRED_API_KEY: 'f', FMP_API_KEY: 'm' } });
  return { specFile, sealed: join(dir, 'sealed-secrets', 'prod.yaml') };
}

/** The SpecError synth throws, or undefined. */
function synthError(specFile: string): SpecError | undefined {
  try {
    buildManifests(resolveStack(spec, 'prod', specFile));
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  return undefined;
}

describe('SealedSecrets (prod with secrets.provider: sealed-secrets)', () => {
  const p = sealedProject();
  const prod = buildManifests(resolveStack(spec, 'prod', p.specFile));
  const sealed = prod.filter((o) => o.kind === 'SealedSecret');

  it('carries the sealed file\'s SealedSecret for every Secret the stack needs, and no Secret', () => {
    const needed = requiredSecrets(resolveStack(spec, 'prod').spec);
    expect(sealed.map((o) => o.metadata.name).sort()).toEqual(needed.map((r) => r.name).sort());
    expect(sealed).toEqual(docsOf(p.sealed));
    expect(prod.some((o) => o.kind === 'Secret' || o.kind === 'ExternalSecret')).toBe(false);
    for (const o of sealed) {
      expect(o.apiVersion).toBe('bitnami.com/v1alpha1');
      expect(o.metadata.namespace).toBe('dataplatform');
      expect(o.spec.template).toEqual({ metadata: { name: o.metadata.name, namespace: 'dataplatform', labels: o.metadata.labels }, type: 'Opaque' });
    }
  });

  it('validates against the pinned SealedSecret CRD', () => {
    expect(isCustomResourceKind('bitnami.com/v1alpha1', 'SealedSecret')).toBe(true);
    expect(validateAllCustomResources(prod.filter((o) => isCustomResourceKind(o.apiVersion, o.kind)))).toEqual([]);
  });

  it('is only where the environment asks for it', () => {
    expect(manifests(spec, 'kind').some((o) => o.kind === 'SealedSecret')).toBe(false);
    expect(manifests(undefined, 'prod').some((o) => o.kind === 'SealedSecret')).toBe(false);
  });

  it('is written by synthesize, the sealed file found beside the spec file', () => {
    const out = mkdtempSync(join(tmpdir(), 'stackport-sealed-dist-'));
    synthesize(spec, out, ['prod'], p.specFile);
    expect(readFileSync(join(out, 'prod', 'dataplatform.k8s.yaml'), 'utf8')).toContain('kind: SealedSecret');
  });

  it('reads the sealed file from the spec file\'s folder, else the working directory; file and controller can be set', () => {
    expect(resolveStack(spec, 'prod', 'deploy/stack.yaml').sealedSecrets).toEqual({
      file: 'sealed-secrets/prod.yaml',
      path: resolve('deploy/sealed-secrets/prod.yaml'),
      specFile: 'deploy/stack.yaml',
      controller: { name: 'sealed-secrets-controller', namespace: 'kube-system' },
    });
    expect(resolveStack(spec, 'prod').sealedSecrets!.path).toBe(resolve(process.cwd(), 'sealed-secrets/prod.yaml'));
    const custom = sealedStack({ provider: 'sealed-secrets', file: '../secrets/prod.sealed.yaml', controller: { namespace: 'security' } });
    expect(resolveStack(custom, 'prod', '/srv/app/stack.yaml').sealedSecrets).toMatchObject({
      path: '/srv/secrets/prod.sealed.yaml',
      controller: { name: 'sealed-secrets-controller', namespace: 'security' },
    });
    expect(resolveStack(spec, 'kind').sealedSecrets).toBeUndefined();
    expect(resolveStack(spec, 'prod').secretStore).toBeUndefined();
  });
});

describe('synth with sealed-secrets fails, naming the file, what is missing and the command', () => {
  const command = (specFile: string) => `npm run secrets -- --env prod --spec ${specFile} --seal --cert <cert>`;

  it('when the sealed file is missing', () => {
    const specFile = join(mkdtempSync(join(tmpdir(), 'stackport-sealed-none-')), 'stack.yaml');
    const e = synthError(specFile)!;
    expect(e.source).toBe(join(specFile, '..', 'sealed-secrets', 'prod.yaml'));
    expect(e.issues[0].message).toContain('not found; the prod environment takes its Secrets from it (secrets.provider: sealed-secrets)');
    expect(e.issues[0].message).toContain(command(specFile));
    expect(e.issues[0].message).toContain('kubeseal --fetch-cert --controller-name sealed-secrets-controller --controller-namespace kube-system');
  });

  it('when it lacks a Secret or a key, or holds one sealed for another namespace', () => {
    const p = sealedProject();
    const docs = docsOf(p.sealed);
    const write = (list: any[]) => writeFileSync(p.sealed, list.map((d) => stringify(d)).join('---\n'));
    write(docs.filter((d) => d.metadata.name !== 'postgres-superuser'));
    expect(synthError(p.specFile)!.issues[0].message).toMatch(new RegExp(`^lacks postgres-superuser: run \`${command(p.specFile).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\``));
    const apis = docs.find((d) => d.metadata.name === 'external-apis');
    write(docs.map((d) => (d === apis ? { ...d, spec: { ...d.spec, encryptedData: { 'fmp-api-key': d.spec.encryptedData['fmp-api-key'] } } } : d)));
    expect(synthError(p.specFile)!.issues[0].message).toMatch(/^lacks external-apis\/fred-api-key: run /);
    write([...docs, { ...apis, metadata: { ...apis.metadata, namespace: 'staging' } }]);
    expect(synthError(p.specFile)!.issues[0].message).toMatch(/^external-apis is sealed for namespace staging, not dataplatform: run /);
    write(docs);
    expect(synthError(p.specFile)).toBeUndefined();
  });
});

describe('the sealed-secrets provider in the spec', () => {
  const rejected = (secrets: unknown) => () => defineStack({ ...(referenceStack as any), environments: { prod: { secrets } } }, 'stack.yaml');

  it('names an unknown provider, a misspelt field and a bad controller name', () => {
    expect(rejected({ provider: 'vault' })).toThrow('stack.yaml: environments.prod.secrets.provider: must have provider external-secrets or sealed-secrets, got "vault"');
    expect(rejected({ file: 'x.yaml' })).toThrow('environments.prod.secrets.provider: must have provider external-secrets or sealed-secrets, got none');
    expect(rejected({ provider: 'sealed-secrets', store: { name: 'vault' } })).toThrow('environments.prod.secrets.store: unknown field');
    expect(rejected({ provider: 'sealed-secrets', controller: { name: 'Sealed_Secrets' } })).toThrow(/environments\.prod\.secrets\.controller\.name: must be a DNS label/);
    expect(rejected({ provider: 'sealed-secrets', file: '' })).toThrow(/environments\.prod\.secrets\.file: /);
  });
});
