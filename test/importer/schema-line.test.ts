/** The editor line of an imported stack.yaml finds the package's schema wherever stackport lives. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { schemaLine, SCHEMA_LINE } from '../../importer/write/schema-line';
import { packageRoot } from '../../model/package-files';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'stackport-root-'));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), text);
  }
  return root;
}

describe('packageRoot', () => {
  it('is this clone when run from source', () => {
    expect(packageRoot()).toBe(resolve(__dirname, '..', '..'));
  });

  it('is the installed package from node_modules, compiled code in lib/ included, past other package.json files', () => {
    const t = tree({
      'app/package.json': '{"name": "my-app"}',
      'app/node_modules/stackport/package.json': '{"name": "stackport"}',
      'app/node_modules/stackport/lib/package.json': '{"type": "commonjs"}',
      'app/node_modules/stackport/lib/importer/write/schema-line.js': '',
    });
    expect(packageRoot(join(t, 'app/node_modules/stackport/lib/importer/write'))).toBe(join(t, 'app/node_modules/stackport'));
    expect(packageRoot(join(t, 'app/node_modules/stackport/importer/write'))).toBe(join(t, 'app/node_modules/stackport'));
  });

  it('says where it looked when there is no stackport package', () => {
    const t = tree({ 'x/package.json': '{"name": "other"}' });
    expect(() => packageRoot(join(t, 'x'))).toThrow(`no stackport package.json at or above ${join(t, 'x')}`);
  });
});

describe('schemaLine', () => {
  it('is a yaml-language-server modeline relative to the output folder', () => {
    const t = tree({ 'app/node_modules/stackport/package.json': '{"name": "stackport"}' });
    const line = schemaLine(join(t, 'app', 'deploy'), join(t, 'app/node_modules/stackport'));
    expect(line).toBe('# yaml-language-server: $schema=../node_modules/stackport/schema/stack.schema.json');
    expect(line).toMatch(SCHEMA_LINE);
  });

  it('resolves to the real schema file from any output folder', () => {
    const out = mkdtempSync(join(tmpdir(), 'stackport-out-'));
    const path = schemaLine(out).match(SCHEMA_LINE)![1];
    expect(resolve(out, path)).toBe(resolve(__dirname, '..', '..', 'schema', 'stack.schema.json'));
  });
});
