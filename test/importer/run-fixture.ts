/**
 * Runs an importer fixture the way the CLI would, from its folder, with an empty environment. The
 * output folder is the fixture's own, so the expected stack.yaml carries a schema line that works
 * there (and is the same in every clone).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseImportArgs } from '../../cli';
import { importCompose, type ImportResult } from '../../importer/import';
import { shellSplit } from '../../importer/load/normalize';

export function runFixture(dir: string): Promise<ImportResult> {
  const argsFile = join(dir, 'args');
  const args = existsSync(argsFile) ? shellSplit(readFileSync(argsFile, 'utf8')) : ['compose.yaml'];
  const opts = parseImportArgs(args, {});
  const rel = (f: string) => join(dir, f);
  return importCompose({ ...opts, files: opts.files.map(rel), envFiles: opts.envFiles?.map(rel), out: dir });
}
