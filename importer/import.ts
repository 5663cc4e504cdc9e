/**
 * `stackport import`: compose files -> validated stack spec -> `<out>/stack.yaml`. The spec is
 * validated (from the written text, as a user's edit would be) before anything is written, so
 * invalid input leaves no file behind.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpecYaml } from '../spec/load';
import type { StackSpec } from '../spec/schema';
import { loadCompose, type LoadOptions } from './load';
import { ComposeError } from './load/errors';
import type { ImportWarning } from './load/model';
import type { ProvidedSecret, TranslateOptions } from './translate/context';
import { translate } from './translate';
import { flowTable, routeTable } from './write/overview';
import { stackYaml } from './write/stack-yaml';

export interface ImportOptions extends LoadOptions, TranslateOptions {}

export interface ImportResult {
  readonly text: string;
  readonly spec: StackSpec;
  readonly warnings: readonly ImportWarning[];
  readonly summary: ReadonlyMap<string, readonly string[]>;
  readonly secrets: readonly ProvidedSecret[];
}

/** Loads and translates; throws ComposeError (input) or SpecError (a spec the importer got wrong). */
export function importCompose(opts: ImportOptions): ImportResult {
  const project = loadCompose(opts);
  const t = translate(project, opts);
  const text = stackYaml({ spec: t.spec, files: project.files.map((f) => f.split('/').pop()!), secrets: t.secrets, origins: t.origins });
  // The last line of defence: whatever the translation did, no secret value leaves this process.
  for (const [value, where] of project.secretValues) {
    if (text.includes(value)) throw new ComposeError([{ file: project.files[0], path: [], message: `the value of ${where} would end up in stack.yaml; nothing was written (please report this)` }]);
  }
  // A spec the importer wrote that does not validate is the importer's bug, never the user's input.
  const spec = parseSpecYaml(text, 'stack.yaml as imported (an importer bug: nothing was written; please report it with the compose files)');
  // Project-wide warnings first, then by service; a service's own keep their order. Code-point order, not the locale's.
  const warnings = [...t.warnings].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const summary = new Map(t.summary);
  summary.set('(routes)', routeTable(spec));
  summary.set('(flows)', flowTable(spec));
  return { text, spec, warnings, summary, secrets: t.secrets };
}

/** Writes `<out>/stack.yaml` atomically. */
export function writeImport(result: ImportResult, out: string): string {
  mkdirSync(out, { recursive: true });
  const file = join(out, 'stack.yaml');
  writeFileSync(`${file}.tmp`, result.text);
  renameSync(`${file}.tmp`, file);
  return file;
}

export function formatWarning(w: ImportWarning): string {
  return `${w.service}: ${w.key}: ${w.why}`;
}
