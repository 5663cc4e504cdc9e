/** The stackport command as a user runs it: npx stackport, after npm ci. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { graphOf } from '../../graph';
import { SCHEMA_LINE } from '../../importer/write/schema-line';
import { loadSpecFile } from '../../model/load';
import { describe, expect, it } from 'vitest';

const stackport = (args: string[]) => spawnSync('npx', ['--no-install', 'stackport', ...args], { encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
const fixture = (name: string) => join(__dirname, '..', 'fixtures', 'compose', name);

// Each case starts the command several times; on a busy 2-core machine that can take a minute.
describe('npx stackport', { timeout: 120_000 }, () => {
  it('is declared as the package bin', () => {
    expect(JSON.parse(readFileSync('package.json', 'utf8')).bin).toEqual({ stackport: 'bin/stackport.js' });
  });

  it('prints help and version', () => {
    const help = stackport(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('import FILE...');
    expect(help.stdout).toContain('synth');
    const version = stackport(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync('package.json', 'utf8')).version);
    const bad = stackport(['deploy']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('unknown command "deploy"');
  });

  it('imports compose files, prints the summary, Secrets and warnings, then synthesizes the result', () => {
    const out = mkdtempSync(join(tmpdir(), 'stackport-cli-'));
    const dir = fixture('fastapi-celery');
    const r = stackport(['import', join(dir, 'compose.yaml'), '--prod-host', 'shop.example.com', '--prod-class', 'eg', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`wrote ${join(out, 'stack.yaml')}`);
    expect(r.stdout).toMatch(/^api -> component api: web \(Deployment \+ Service on 8000, routed at \/\)$/m);
    expect(r.stdout).toContain('shop-secrets/jwt-secret  from ${JWT_SECRET}');
    expect(r.stdout).toMatch(/^ +built from \S+ by stackport dev; to run it without, build it as ghcr\.io\/acme\/shop-api:1\.3\.0 and load it/m);
    // The same stack.yaml as the fixture's, but for the schema line: a path relative to each folder.
    const written = readFileSync(join(out, 'stack.yaml'), 'utf8');
    const schemaPath = written.split('\n')[0].match(SCHEMA_LINE)?.[1];
    expect(schemaPath).toBeDefined();
    expect(realpathSync(resolve(out, schemaPath!))).toBe(realpathSync(join(__dirname, '..', '..', 'schema', 'stack.schema.json')));
    // The build context is relative to each folder too: here, the fixture's folder seen from the output folder.
    const context = /^ +build:\n +context: (.*)$/m.exec(written)?.[1];
    expect(context && resolve(out, context)).toBe(resolve(dir));
    const portable = (text: string) => text.replace(SCHEMA_LINE, '# yaml-language-server: $schema=<schema>').replace(/^( +build:\n +context: ).*$/m, '$1<context>');
    expect(portable(written)).toBe(portable(readFileSync(join(dir, 'stack.yaml'), 'utf8')));
    // graph.md beside it: the kind environment as stackport graph draws it, in a Mermaid block.
    expect(r.stdout).toContain(`wrote ${join(out, 'graph.md')}`);
    const graph = readFileSync(join(out, 'graph.md'), 'utf8');
    expect(graph).toMatch(/```mermaid\nflowchart LR\n[\s\S]+\n```\n$/);
    expect(graph).toContain(graphOf(loadSpecFile(join(out, 'stack.yaml')), 'kind').trimEnd());

    const s = stackport(['synth', '--spec', join(out, 'stack.yaml'), '--out', join(out, 'dist')]);
    expect(s.stderr).toBe('');
    expect(s.status).toBe(0);
    expect(readdirSync(join(out, 'dist')).sort()).toEqual(['k3d', 'kind', 'prod']);
    const k = stackport(['synth', '--spec', join(out, 'stack.yaml'), '--out', join(out, 'dist2'), '--env', 'kind']);
    expect(k.stdout).toMatch(/^kind +\d+ objects/m);
    expect(readdirSync(join(out, 'dist2'))).toEqual(['kind']);
  });

  it('needs --out and a file', () => {
    const r = stackport(['import', join(fixture('secrets'), 'compose.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--out DIR is required');
    expect(existsSync('stack.yaml')).toBe(false);
  });
});
