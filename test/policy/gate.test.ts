/**
 * The policy gate (npm run lint:k8s): clean on every environment of the reference stack, and able
 * to fail: one deliberately bad object makes every installed tool report. Tools must be installed
 * in CI (scripts/policy/install.sh); only those the registries refuse here are left out.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { synthesize } from '../../charts/synth';
import { POLICY_EXCEPTIONS } from '../../charts/policy';
import { referenceStack } from '../../model/reference';
import { ENVIRONMENTS } from '../../model/schema';
import { policyEnv, TOOL_NAMES, tools, type Finding } from '../../scripts/policy/lint';
import { BAD_DEPLOYMENT } from './bad-manifest';

const env = policyEnv();
const all = tools(env);
const available = all.filter((t): t is Extract<typeof t, { run: unknown }> => 'run' in t);
const REQUIRED = [...TOOL_NAMES];


function yamlFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.k8s.yaml')).map((f) => join(dir, f));
}

describe('policy gate', () => {
  it('has the tools CI needs', () => {
    const missing = REQUIRED.filter((name) => !available.some((t) => t.name === name));
    if (missing.length > 0 && !process.env.CI) return; // locally: run scripts/policy/install.sh
    expect(missing, 'run bash scripts/policy/install.sh').toEqual([]);
  });

  it('finds nothing in any environment of the reference stack', () => {
    const out = mkdtempSync(join(tmpdir(), 'stackport-gate-'));
    synthesize(referenceStack, out);
    const findings: Finding[] = available.flatMap((t) => ENVIRONMENTS.flatMap((e) => t.run(yamlFiles(join(out, e)), e)));
    expect(findings).toEqual([]);
  }, 180_000);

  it('fails on a deliberately bad object, in every tool', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stackport-gate-bad-'));
    mkdirSync(join(dir, 'kind'));
    writeFileSync(join(dir, 'kind', 'bad.k8s.yaml'), BAD_DEPLOYMENT);
    for (const t of available) {
      const checks = new Set(t.run(yamlFiles(join(dir, 'kind')), 'kind').map((f) => f.check));
      expect(checks.size, t.name).toBeGreaterThan(0);
      if (t.name === 'kube-score') expect([...checks]).toEqual(expect.arrayContaining(['container-security-context-privileged', 'container-image-tag']));
      if (t.name === 'checkov') expect([...checks]).toEqual(expect.arrayContaining(['CKV_K8S_16', 'CKV_K8S_14']));
      if (t.name === 'trivy') expect([...checks]).toEqual(expect.arrayContaining(['KSV-0017', 'KSV-0013']));
      if (t.name === 'kyverno') expect([...checks]).toEqual(expect.arrayContaining(['podsecurity-restricted/autogen-restricted', 'disallow-latest-tag/autogen-validate-image-tag']));
    }
  }, 180_000);

  it('scopes Trivy and Kyverno exceptions to the annotated object: a copy without the annotation is reported', () => {
    const out = mkdtempSync(join(tmpdir(), 'stackport-gate-scope-'));
    synthesize(referenceStack, out, ['prod']);
    const file = yamlFiles(join(out, 'prod'))[0];
    const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS());
    const copyOf = (kind: string, name: string) => {
      const o = structuredClone(docs.find((d) => d.kind === kind && d.metadata.name === name));
      o.metadata.name = `${name}-copy`;
      delete o.metadata.annotations['stackport.dev/policy-exceptions'];
      return o;
    };
    const extra = join(out, 'copies.k8s.yaml');
    writeFileSync(extra, [copyOf('ConfigMap', 'postgres-init'), copyOf('StatefulSet', 'redis')].map((o) => stringify(o)).join('---\n'));
    for (const t of available.filter((x) => x.name === 'trivy' || x.name === 'kyverno')) {
      const found = t.run([file, extra], 'prod').map((f) => `${f.object} ${f.check}`);
      if (t.name === 'trivy') expect(found).toEqual(['ConfigMap/postgres-init-copy KSV-0109']);
      if (t.name === 'kyverno') expect(found).toEqual(['StatefulSet/redis-copy require-storageclass/ss-storageclass']);
    }
  }, 180_000);

  it('documents every exception with its reason in docs/policy.md', () => {
    const doc = readFileSync(join(__dirname, '../../docs/policy.md'), 'utf8');
    for (const e of POLICY_EXCEPTIONS) {
      expect(doc).toContain(`\`${e.id}\``);
      expect(doc).toContain(e.reason);
      for (const id of [...e.kubeScore, ...e.checkov, ...e.trivy, ...e.kyverno]) expect(doc).toContain(id);
    }
  });
});
