/**
 * Every compose project the importer is shown (the fixtures it was written against and the public
 * corpus, imported as published) must give a spec that validates as written to stack.yaml and
 * synthesizes kind and k3d with no edits. A failure here is an importer bug, whatever the input.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildManifests } from '../../charts/synth';
import { runImport } from '../../scripts/corpus-report';
import { parseSpecYaml } from '../../model/load';
import { resolveStack } from '../../model/presets';
import { caseNames, loadCase } from './public-corpus';
import { runFixture } from './run-fixture';
import type { ImportResult } from '../../importer/import';

const FIXTURES = join(__dirname, '..', 'fixtures', 'compose');
const projects: [string, () => Promise<ImportResult>][] = [
  ...readdirSync(FIXTURES).sort().map((n): [string, () => Promise<ImportResult>] => [`fixture ${n}`, () => runFixture(join(FIXTURES, n))]),
  ...caseNames().filter((n) => loadCase(n).expected.compose.accepted).map((n): [string, () => Promise<ImportResult>] => [`public ${n}`, () => runImport(loadCase(n))]),
];

describe.each(projects)('%s', async (_, run) => {
  const result = await run();

  it('writes a stack.yaml that validates as a user would load it', () => {
    expect(() => parseSpecYaml(result.text, 'stack.yaml')).not.toThrow();
  });

  it.each(['kind', 'k3d'] as const)('synthesizes %s with no edits', (env) => {
    const objs = buildManifests(resolveStack(result.spec, env));
    expect(objs.length).toBeGreaterThan(0);
  });
});
