/**
 * The package as users get it: `npm pack`, installed into a fresh folder next to the cdk8s a user's
 * app already has, then the command and the library used from there with plain `node`: no
 * TypeScript loader, no sources.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const root = resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'stackport-pack-'));
const project = join(work, 'project');
let packed: { filename: string; files: { path: string }[] };
let installLog = '';

function run(cmd: string, args: string[], cwd = project): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', CDK8S_CHECK_UPGRADE: 'false' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }))[0];
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'pack-check', version: '1.0.0', private: true }));
  // The versions a user's cdk8s app already pins; the rest comes from the npm cache when it can.
  const r = run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, packed.filename), `cdk8s@${pkg.devDependencies.cdk8s}`, `constructs@${pkg.devDependencies.constructs}`, `cdk8s-plus-28@${pkg.dependencies['cdk8s-plus-28']}`, `@types/node@${pkg.devDependencies['@types/node']}`]);
  installLog = r.stdout + r.stderr;
  if (r.status !== 0) throw new Error(`npm install of the tarball failed:\n${installLog}`);
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  it('ships compiled JavaScript, declarations, the bin, the JSON Schema, the field reference and what up installs, and no sources', () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/stackport.js', 'lib/index.js', 'lib/index.d.ts', 'lib/cli.js', 'lib/main.js', 'schema/stack.schema.json', 'docs/spec.md', 'lib/ops.cjs', 'crds/gateway.networking.k8s.io.yaml', 'crds/monitoring.coreos.com.yaml', 'scripts/crd-versions.env']));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    // Of scripts/ and crds/ only the pinned versions and the CRD files `stackport up` applies.
    expect(files.filter((f) => /^(test|scripts|bench|images|crds)\//.test(f) && f !== 'scripts/crd-versions.env' && !/^crds\/[a-z0-9.-]+\.yaml$/.test(f))).toEqual([]);
  });

  it('installs on this Node without engine warnings and without a TypeScript loader', () => {
    expect(installLog).not.toContain('EBADENGINE');
    expect(existsSync(join(project, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(project, 'node_modules', 'stackport', 'tsconfig.build.json'))).toBe(false);
  });

  it('runs `npx stackport` import and synth', () => {
    expect(run('npx', ['--no-install', 'stackport', '--version']).stdout.trim()).toBe(pkg.version);
    const compose = join(root, 'test/fixtures/compose/fastapi-celery');
    cpSync(compose, join(project, 'compose'), { recursive: true });
    const imported = run('npx', ['--no-install', 'stackport', 'import', 'compose/compose.yaml', '--prod-host', 'shop.example.com', '--prod-class', 'eg', '--out', 'deploy']);
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
    const stackYaml = readFileSync(join(project, 'deploy', 'stack.yaml'), 'utf8');
    // The editor line points at the schema inside the installed package.
    const schemaRef = /^# yaml-language-server: \$schema=(\S+)$/m.exec(stackYaml)?.[1];
    expect(schemaRef && existsSync(resolve(project, 'deploy', schemaRef))).toBe(true);
    expect(resolve(project, 'deploy', schemaRef!)).toBe(join(project, 'node_modules', 'stackport', 'schema', 'stack.schema.json'));

    const synth = run('npx', ['--no-install', 'stackport', 'synth', '--spec', 'deploy/stack.yaml', '--out', 'dist']);
    expect(synth.status, synth.stderr).toBe(0);
    expect(readdirSync(join(project, 'dist')).sort()).toEqual(['k3d', 'kind', 'prod']);
  });

  it('runs the example cdk8s app against the installed library, compiled by tsc and run by node', () => {
    for (const f of ['app.ts', 'main.ts', 'tsconfig.json']) cpSync(join(root, 'examples/cdk8s-app', f), join(project, f));
    const tsc = run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']);
    expect(tsc.stdout + tsc.stderr).toBe('');
    const synth = run(process.execPath, ['main.js']);
    expect(synth.status, synth.stderr).toBe(0);
    const kinds = parseAllDocuments(readFileSync(join(project, 'dist', 'shop.k8s.yaml'), 'utf8')).map((d) => `${d.toJS().kind}/${d.toJS().metadata.name}`);
    expect(kinds).toEqual(expect.arrayContaining(['Deployment/api', 'StatefulSet/db', 'ConfigMap/feature-flags', 'CronJob/nightly-report']));
  });
});
