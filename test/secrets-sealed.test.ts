/**
 * `npm run secrets -- --seal`: the prod Secrets of the reference stack sealed for Sealed Secrets,
 * checked against upstream's own Unseal (scripts/configcheck `unseal`), re-runs that keep what is
 * sealed, and inputs that are refused before anything is written.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SpecError } from '../model/errors';
import { resolveStack } from '../model/presets';
import { referenceStack } from '../model/reference';
import { requiredSecrets } from '../model/relations';
import { readSealingKey, SealError } from '../ops/seal';
import { sealSecrets } from '../ops/secrets';
import { configcheck, configcheckSkip } from './support/configcheck';
import { validateAllCustomResources } from './support/crd-schema';
import { controllerKeys, docsOf, sealedStack } from './support/sealed';

const KEYS = { FRED_API_KEY: 'fred-123', FMP_API_KEY: 'fmp-456' };
const keys = controllerKeys();
const spec = sealedStack();

/** A fresh project folder; the spec file in it need not exist (only its folder is used). */
function project(): { dir: string; specFile: string; sealed: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-seal-'));
  return { dir, specFile: join(dir, 'stack.yaml'), sealed: join(dir, 'sealed-secrets', 'prod.yaml') };
}

/** The Secrets upstream's Unseal makes of a file, by name. */
function unseal(file: string): Map<string, { name: string; namespace: string; data: Record<string, string> }> {
  const r = configcheck(['unseal', '--key', keys.key, file]);
  if (r.status !== 0) throw new Error(`configcheck unseal failed (exit ${r.status}): ${r.stderr}`);
  return new Map(JSON.parse(r.stdout).map((s: any) => [s.name, s]));
}

describe('sealing the prod Secrets', () => {
  const p = project();
  const first = sealSecrets(spec, 'prod', keys.cert, { specFile: p.specFile, env: KEYS });
  const needed = requiredSecrets(resolveStack(spec, 'prod').spec);

  it('writes one CRD-valid SealedSecret per Secret the stack needs to the sealed file beside the spec, mode 0644', () => {
    expect(first.file).toBe(p.sealed.replace(`${process.cwd()}/`, ''));
    expect(statSync(p.sealed).mode & 0o777).toBe(0o644);
    const docs = docsOf(p.sealed);
    expect(docs.map((d) => d.metadata.name)).toEqual(needed.map((r) => r.name));
    expect(validateAllCustomResources(docs)).toEqual([]);
    const pg = docs.find((d) => d.metadata.name === 'postgres-superuser');
    const labels = { 'app.kubernetes.io/part-of': 'dataplatform', 'app.kubernetes.io/managed-by': 'stackport' };
    expect(pg.metadata).toEqual({ name: 'postgres-superuser', namespace: 'dataplatform', labels });
    expect(pg.spec.template).toEqual({ metadata: { name: 'postgres-superuser', namespace: 'dataplatform', labels }, type: 'Opaque' });
    expect(Object.keys(pg.spec.encryptedData)).toEqual(['password']);
    expect(first.kept).toBe(0);
    expect(first.sealed).toBe(needed.reduce((n, r) => n + r.keys.length, 0));
  });

  it.skipIf(configcheckSkip)('unseals with upstream Unseal into exactly the planned values', () => {
    const secrets = unseal(p.sealed);
    expect([...secrets.keys()].sort()).toEqual(needed.map((r) => r.name).sort());
    for (const r of needed) expect(secrets.get(r.name)).toEqual({ name: r.name, namespace: 'dataplatform', data: first.plain.get(r.name) });
    expect(secrets.get('external-apis')!.data).toEqual({ 'fmp-api-key': 'fmp-456', 'fred-api-key': 'fred-123' });
    expect(secrets.get('redis-auth')!.data.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  it.skipIf(configcheckSkip)('seals for one namespace and name only (strict scope): a copy under another fails to unseal', () => {
    const doc = docsOf(p.sealed).find((d) => d.metadata.name === 'redis-auth');
    for (const [name, namespace] of [['redis-auth-copy', 'dataplatform'], ['redis-auth', 'elsewhere']]) {
      const file = join(p.dir, `${name}-${namespace}.yaml`);
      writeFileSync(file, stringify({ ...doc, metadata: { ...doc.metadata, name, namespace } }));
      const r = configcheck(['unseal', '--key', keys.key, file]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`SealedSecret ${namespace}/${name}: no key could decrypt secret (password)`);
    }
  });

  it('keeps what is sealed on a re-run, and seals again a provided key set in the environment', () => {
    const before = docsOf(p.sealed);
    const again = sealSecrets(spec, 'prod', keys.cert, { specFile: p.specFile, env: {} });
    expect(again.sealed).toBe(0);
    expect(docsOf(p.sealed)).toEqual(before);
    const rotated = sealSecrets(spec, 'prod', keys.cert, { specFile: p.specFile, env: { FRED_API_KEY: 'fred-new' } });
    expect([...rotated.plain]).toEqual([['external-apis', { 'fred-api-key': 'fred-new' }]]);
    const after = docsOf(p.sealed);
    const data = (docs: any[], name: string) => docs.find((d) => d.metadata.name === name).spec.encryptedData;
    expect(data(after, 'external-apis')['fmp-api-key']).toBe(data(before, 'external-apis')['fmp-api-key']);
    expect(data(after, 'external-apis')['fred-api-key']).not.toBe(data(before, 'external-apis')['fred-api-key']);
    for (const r of needed.filter((x) => x.name !== 'external-apis')) expect(data(after, r.name)).toEqual(data(before, r.name));
    if (!configcheckSkip) expect(unseal(p.sealed).get('external-apis')!.data).toEqual({ 'fmp-api-key': 'fmp-456', 'fred-api-key': 'fred-new' });
  });

  it('seals a new password for an entry deleted from the file (rotation), and drops what the stack no longer needs', () => {
    const q = project();
    sealSecrets(spec, 'prod', keys.cert, { specFile: q.specFile, env: KEYS });
    const docs = docsOf(q.sealed);
    const stale = { ...docs[0], metadata: { ...docs[0].metadata, name: 'old-secret' }, spec: { ...docs[0].spec, template: { ...docs[0].spec.template, metadata: { ...docs[0].spec.template.metadata, name: 'old-secret' } } } };
    writeFileSync(q.sealed, docs.filter((d) => d.metadata.name !== 'redis-auth').concat(stale).map((d) => stringify(d)).join('---\n'));
    const r = sealSecrets(spec, 'prod', keys.cert, { specFile: q.specFile, env: {} });
    expect([...r.plain.keys()]).toEqual(['redis-auth']);
    expect(r.warnings).toEqual(['dropped old-secret: the stack no longer needs it']);
    expect(docsOf(q.sealed).map((d) => d.metadata.name)).toEqual(docs.map((d) => d.metadata.name));
  });
});

describe('sealing refuses bad input and writes nothing', () => {
  const refused = (run: () => unknown, message: RegExp, file?: string) => {
    const before = file && existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    expect(run).toThrow(message);
    if (file) expect(existsSync(file) ? readFileSync(file, 'utf8') : undefined).toBe(before);
  };

  it('without --cert: names the flag and the command that fetches the certificate', () => {
    const p = project();
    refused(() => sealSecrets(spec, 'prod', undefined, { specFile: p.specFile, env: KEYS }), /--seal needs --cert FILE, .*kubeseal --fetch-cert --controller-name sealed-secrets-controller --controller-namespace kube-system/, p.sealed);
    const custom = sealedStack({ provider: 'sealed-secrets', controller: { name: 'sealer', namespace: 'security' } });
    refused(() => sealSecrets(custom, 'prod', undefined, { specFile: p.specFile, env: KEYS }), /--controller-name sealer --controller-namespace security/, p.sealed);
  });

  it('a --cert that is not a PEM certificate or RSA public key, or has expired', () => {
    const p = project();
    const file = (name: string, text: string) => {
      writeFileSync(join(p.dir, name), text);
      return join(p.dir, name);
    };
    const expected = 'expected the PEM certificate of the Sealed Secrets controller \\(kubeseal --fetch-cert\\) or its RSA public key';
    refused(() => sealSecrets(spec, 'prod', join(p.dir, 'nope.pem'), { specFile: p.specFile, env: KEYS }), new RegExp(`--cert .*nope\\.pem: file not found; ${expected}`), p.sealed);
    refused(() => sealSecrets(spec, 'prod', file('junk.pem', 'hello'), { specFile: p.specFile, env: KEYS }), new RegExp(`--cert .*junk\\.pem: holds no PEM block; ${expected}`), p.sealed);
    refused(() => sealSecrets(spec, 'prod', keys.key, { specFile: p.specFile, env: KEYS }), new RegExp(`--cert .*key\\.pem: holds a PEM PRIVATE KEY; ${expected}`), p.sealed);
    refused(() => readSealingKey(file('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')), /--cert .*broken\.pem: not a readable PEM CERTIFICATE/);
    const ecKey = join(p.dir, 'ec.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ecKey, '-out', join(p.dir, 'ec-cert.pem'), '-days', '1', '-subj', '/CN=x'], { stdio: 'pipe' });
    refused(() => readSealingKey(join(p.dir, 'ec-cert.pem')), /--cert .*ec-cert\.pem: holds a ec key; Sealed Secrets seals with RSA/);
    refused(() => readSealingKey(keys.cert, new Date(Date.now() + 60 * 86_400_000)), /--cert .*cert\.pem: the certificate expired on .*; fetch the controller's current one/);
    // The public key alone is fine too.
    const pub = file('pub.pem', execFileSync('openssl', ['x509', '-in', keys.cert, '-pubkey', '-noout'], { encoding: 'utf8' }));
    expect(readSealingKey(pub).asymmetricKeyType).toBe('rsa');
  });

  it('for an environment without the sealed-secrets provider', () => {
    expect(() => sealSecrets(referenceStack, 'prod', keys.cert, { env: KEYS })).toThrow(SealError);
    expect(() => sealSecrets(referenceStack, 'prod', keys.cert, { env: KEYS })).toThrow(/--seal: environment prod has no secrets provider .*set environments\.prod\.secrets: \{provider: sealed-secrets\}/);
    const eso = sealedStack({ provider: 'external-secrets', store: { name: 'vault' } });
    expect(() => sealSecrets(eso, 'prod', keys.cert, { env: KEYS })).toThrow('--seal: environment prod has secrets.provider: external-secrets');
  });

  it('when prod lacks a provided key', () => {
    const p = project();
    refused(() => sealSecrets(spec, 'prod', keys.cert, { specFile: p.specFile, env: { FRED_API_KEY: 'x' } }), /environment prod needs values for: external-apis\/fmp-api-key \(set FMP_API_KEY\)/, p.sealed);
    expect(existsSync(p.sealed)).toBe(false);
  });

  it('when the existing sealed file is malformed, naming it and what is expected', () => {
    const p = project();
    mkdirSync(join(p.dir, 'sealed-secrets'));
    const cases: [string, RegExp][] = [
      ['apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: dataplatform}\n', /document 1 is not a SealedSecret \(expected apiVersion bitnami\.com\/v1alpha1, kind SealedSecret\)/],
      ['apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a}\nspec: {encryptedData: {}}\n', /document 1 has no metadata\.name and metadata\.namespace/],
      ['apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: dataplatform}\nspec: {encryptedData: {password: "not base64!"}}\n', /SealedSecret dataplatform\/a: spec\.encryptedData\.password is not a base64 string/],
      ['apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: a, namespace: dataplatform, annotations: {sealedsecrets.bitnami.com/cluster-wide: "true"}}\nspec: {encryptedData: {password: QUJD}}\n', /sealed with sealedsecrets\.bitnami\.com\/cluster-wide; only the default strict scope is supported/],
      ['kind: [unclosed\n', /sealed-secrets\/prod\.yaml.*not valid YAML/],
    ];
    for (const [text, message] of cases) {
      writeFileSync(p.sealed, text);
      let error: unknown;
      try {
        sealSecrets(spec, 'prod', keys.cert, { specFile: p.specFile, env: KEYS });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(SpecError);
      expect((error as SpecError).source).toMatch(/sealed-secrets\/prod\.yaml$/);
      expect((error as Error).message).toMatch(message);
      expect(readFileSync(p.sealed, 'utf8')).toBe(text);
    }
  });
});

describe('npm run secrets -- --seal', () => {
  const p = project();
  writeFileSync(p.specFile, stringify(JSON.parse(JSON.stringify(spec))));
  const cli = (...args: string[]) => spawnSync('node_modules/.bin/tsx', ['ops/secrets.ts', '--env', 'prod', '--spec', p.specFile, ...args], { encoding: 'utf8', env: { ...process.env, ...KEYS } });

  it('seals into the file beside the spec, and refuses without --cert (exit 2)', () => {
    const ok = cli('--seal', '--cert', keys.cert);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/^wrote \d+ SealedSecrets to .*sealed-secrets\/prod\.yaml \(\d+ values sealed now, 0 kept as sealed\); commit it with the spec\n$/);
    expect(existsSync(p.sealed)).toBe(true);
    const bad = cli('--seal');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error: --seal needs --cert FILE/);
    expect(cli().stdout).toContain('prod takes its Secrets from the SealedSecrets in');
  });
});
