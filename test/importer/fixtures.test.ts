/**
 * Golden fixtures, Kompose-style: each folder of test/fixtures/compose holds compose input, the
 * expected stack.yaml and the expected warnings. Every imported spec must also synthesize, in all
 * three environments, to objects that pass the same schema and Pod Security checks as the
 * reference stack. UPDATE_FIXTURES=1 rewrites the expected files (review the diff).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildManifests } from '../../charts/synth';
import { toYaml } from '../../charts/yaml';
import { formatWarning } from '../../importer/import';
import { SCHEMA_LINE } from '../../importer/write/schema-line';
import { runFixture } from './run-fixture';
import { resolveStack } from '../../model/presets';
import { requiredSecrets } from '../../model/relations';
import { ENVIRONMENTS } from '../../model/schema';
import { validateAllCustomResources } from '../support/crd-schema';
import { isBuiltInKind, validateAll } from '../support/k8s-schema';
import { checkRestricted } from '../support/pod-security';

const ROOT = join(__dirname, '..', 'fixtures', 'compose');
const UPDATE = process.env.UPDATE_FIXTURES === '1';
const cases = readdirSync(ROOT).sort();

function golden(file: string, actual: string) {
  if (UPDATE || !existsSync(file)) writeFileSync(file, actual);
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe.each(cases)('compose fixture %s', async (name) => {
  const dir = join(ROOT, name);
  const result = await runFixture(dir);
  // Sentinels: values (secrets, host file content) that must reach neither stack.yaml nor dist/.
  const secrets = existsSync(join(dir, 'secret-values')) ? readFileSync(join(dir, 'secret-values'), 'utf8').split('\n').filter(Boolean) : [];

  it('imports to the expected stack.yaml', () => {
    // runFixture writes for the fixture's own folder, so the schema line is the same in every clone.
    golden(join(dir, 'stack.yaml'), result.text);
  });

  it('starts with a schema line that resolves to the package\'s JSON Schema from the output folder', () => {
    const path = result.text.split('\n')[0].match(SCHEMA_LINE)?.[1];
    expect(path && resolve(dir, path)).toBe(join(__dirname, '..', '..', 'schema', 'stack.schema.json'));
  });

  it('reports the expected warnings', () => {
    golden(join(dir, 'warnings.txt'), result.warnings.map((w) => `${formatWarning(w)}\n`).join(''));
  });

  it('never writes a secret value', () => {
    for (const s of secrets) expect(result.text, s).not.toContain(s);
  });

  const prodOk = !/prod: the (prod environment needs|spec does not know where)/.test(result.warnings.map(formatWarning).join('\n'));
  describe.each(ENVIRONMENTS.filter((e) => e !== 'prod' || prodOk))('in %s', (env) => {
    const stack = resolveStack(result.spec, env);
    const objs = buildManifests(stack);

    it('validates against the Kubernetes schema and the CRDs, unknown fields rejected', () => {
      expect(validateAll(objs.filter((o) => isBuiltInKind(o.apiVersion, o.kind)))).toEqual([]);
      expect(validateAllCustomResources(objs.filter((o) => !isBuiltInKind(o.apiVersion, o.kind)))).toEqual([]);
    });

    it('writes no sentinel value into the manifests', () => {
      const written = toYaml(objs);
      for (const s of secrets) expect(written.includes(s), s).toBe(false);
    });

    it('passes Pod Security "restricted" for every pod template', () => {
      expect(objs.flatMap((o) => checkRestricted(o))).toEqual([]);
    });

    it('references only Secrets the secrets command creates and ConfigMaps it renders; writes no Secret', () => {
      expect(objs.filter((o) => o.kind === 'Secret')).toEqual([]);
      const known = new Set(requiredSecrets(stack.spec).map((s) => s.name));
      const configMaps = new Set(objs.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name));
      const claims = new Set(objs.filter((o) => o.kind === 'PersistentVolumeClaim').map((o) => o.metadata.name));
      // cert-manager objects name the TLS Secrets cert-manager writes itself; only pods read ours.
      const text = JSON.stringify(objs.filter((o) => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind)));
      for (const [, n] of text.matchAll(/"secretName":"([^"]+)"/g)) expect(known).toContain(n);
      for (const [, n] of text.matchAll(/"secretKeyRef":\{"name":"([^"]+)"/g)) expect(known).toContain(n);
      for (const [, n] of text.matchAll(/"(?:configMap|configMapRef)":\{"name":"([^"]+)"/g)) expect(configMaps).toContain(n);
      for (const [, n] of text.matchAll(/"claimName":"([^"]+)"/g)) expect(claims).toContain(n);
    });
  });

  if (!prodOk) {
    it('says what prod still needs, and prod refuses to synthesize without it', () => {
      expect(() => resolveStack(result.spec, 'prod')).toThrow(/environments\.prod\.edge\.(host|className|allowFrom): is required for/);
    });
  }
});
