import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { synthesize } from '../charts/synth';
import { parseSpec } from '../model/load';
import { referenceStack } from '../model/reference';

const tmp = () => mkdtempSync(join(tmpdir(), 'stackport-synth-'));
const tsx = (args: string[]) => spawnSync('node_modules/.bin/tsx', args, { encoding: 'utf8' });

describe('synthesize', () => {
  it('writes one folder per environment and nothing else', () => {
    const out = tmp();
    const results = synthesize(referenceStack, out);
    expect(readdirSync(out).sort()).toEqual(['k3d', 'kind', 'prod']);
    expect(results.map((r) => [r.environment, r.objects])).toEqual([['kind', 36], ['k3d', 39], ['prod', 40]]);
    // kind's GatewayClass (cloud-provider-kind) cannot enforce the rate limit; the others do.
    expect(results.map((r) => [r.environment, r.warnings.length])).toEqual([['kind', 1], ['k3d', 0], ['prod', 0]]);
    const docs = parseAllDocuments(readFileSync(join(out, 'kind', 'dataplatform.k8s.yaml'), 'utf8'));
    expect(docs).toHaveLength(36);
    expect(docs[0].toJS().kind).toBe('Namespace');
  });

  it('makes each environment folder a kustomize root that lists its manifests', () => {
    const out = tmp();
    synthesize(referenceStack, out, ['kind', 'prod']);
    for (const env of ['kind', 'prod']) {
      const k = parseAllDocuments(readFileSync(join(out, env, 'kustomization.yaml'), 'utf8'))[0].toJS();
      expect(k).toEqual({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: ['dataplatform.k8s.yaml'] });
    }
  });

  it('replaces an environment folder wholesale, dropping stale files', () => {
    const out = tmp();
    synthesize(referenceStack, out, ['kind']);
    writeFileSync(join(out, 'kind', 'stale.yaml'), 'x: 1\n');
    synthesize(referenceStack, out, ['kind']);
    expect(readdirSync(join(out, 'kind')).sort()).toEqual(['dataplatform.k8s.yaml', 'kustomization.yaml']);
  });

  it('leaves existing output untouched when any environment fails', () => {
    const out = tmp();
    synthesize(referenceStack, out, ['kind']);
    const before = readFileSync(join(out, 'kind', 'dataplatform.k8s.yaml'), 'utf8');
    const broken = parseSpec({
      name: 'broken',
      components: {
        cache: { kind: 'redis' },
        web: { kind: 'web', image: 'ghcr.io/acme/web:1.0.0', port: 8000, healthPath: '/', uses: ['cache'] },
      },
      environments: { prod: { components: { cache: { enabled: false } } } },
    });
    expect(() => synthesize(broken, out)).toThrow('uses "cache", which is disabled in environment prod');
    expect(readFileSync(join(out, 'kind', 'dataplatform.k8s.yaml'), 'utf8')).toBe(before);
    expect(existsSync(join(out, 'kind', 'broken.k8s.yaml'))).toBe(false);
    expect(readdirSync(out)).toEqual(['kind']);
  });
});

describe('main.ts', () => {
  it('synthesizes a spec file for the environments asked for', () => {
    const out = tmp();
    const spec = join(out, 'stack.yaml');
    writeFileSync(spec, 'name: shop\ncomponents:\n  web:\n    kind: web\n    image: ghcr.io/acme/shop:2.1.0\n    port: 8080\n    healthPath: /healthz\n');
    const r = tsx(['main.ts', '--spec', spec, '--env', 'k3d', '--out', join(out, 'dist')]);
    // The file names no apiVersion: it is read as the first version, and stderr says so.
    expect(r.stderr).toBe(`note: ${spec}: no apiVersion; read as stackport.dev/v1alpha1 (add apiVersion: stackport.dev/v1alpha1)\n`);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/k3d +16 objects/);
    expect(readdirSync(join(out, 'dist'))).toEqual(['k3d']);
  });

  it('prints a warning on stdout, after the files, for a rate limit the Gateway class cannot enforce', () => {
    const out = tmp();
    const r = tsx(['main.ts', '--env', 'kind,prod', '--out', join(out, 'dist')]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['kind', 'prod', 'warning:']);
    expect(lines[2]).toMatch(/^warning: kind: GatewayClass "cloud-provider-kind" has no known rate-limit policy, so the rate limit \(10 r\/s, burst 20\) is not enforced; /);
  });

  it('refuses a spec of a version it does not read, naming the versions it reads', () => {
    const out = tmp();
    const spec = join(out, 'stack.yaml');
    writeFileSync(spec, 'apiVersion: stackport.dev/v2\nname: shop\ncomponents: {}\n');
    const r = tsx(['main.ts', '--spec', spec, '--out', join(out, 'dist')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${spec}:1:13: apiVersion: unknown version "stackport.dev/v2"; this release reads stackport.dev/v1alpha1`);
    expect(existsSync(join(out, 'dist'))).toBe(false);
  });

  it('fails with the file, line and field of a bad spec, and writes nothing', () => {
    const out = tmp();
    const spec = join(out, 'stack.yaml');
    writeFileSync(spec, 'name: shop\ncomponents:\n  web:\n    kind: web\n    image: ghcr.io/acme/shop:2.1.0\n    port: 70000\n    healthPath: /healthz\n');
    const r = tsx(['main.ts', '--spec', spec, '--out', join(out, 'dist')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${spec}:6:11: components.web.port: must be a port number from 1 to 65535`);
    expect(existsSync(join(out, 'dist'))).toBe(false);
  });

  it('rejects an unknown environment', () => {
    const r = tsx(['main.ts', '--env', 'staging', '--out', join(tmp(), 'dist')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--env staging: expected one of kind, k3d, prod');
  });

  it('makes dev manifests (--live-sync) only for kind and k3d, and writes nothing otherwise', () => {
    for (const args of [['--live-sync'], ['--live-sync', '--env', 'prod'], ['--live-sync', '--env', 'kind,prod']]) {
      const out = join(tmp(), 'dist');
      const r = tsx(['main.ts', ...args, '--out', out]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('--live-sync makes dev manifests for a laptop cluster: give --env kind or --env k3d (never prod)');
      expect(existsSync(out)).toBe(false);
    }
  });

  it('is what `cdk8s synth` runs, writing dist/<environment>', () => {
    const out = join(tmp(), 'dist');
    execFileSync('node_modules/.bin/cdk8s', ['synth', '--no-check-upgrade', '-o', out], { stdio: 'pipe', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' } });
    expect(readdirSync(out).sort()).toEqual(['k3d', 'kind', 'prod']);
  });
});
