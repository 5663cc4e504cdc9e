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
import type { ComposeProject, ImportWarning } from './load/model';
import type { FoundSecret, ProvidedSecret, TranslateOptions } from './translate/context';
import { scanValues } from './translate/secret-values';
import { translate } from './translate';
import { stackYaml } from './write/stack-yaml';

export interface ImportOptions extends LoadOptions, TranslateOptions {}

export interface ImportResult {
  readonly text: string;
  /** Every value made a Secret reference: variable, service and rule, never the value. */
  readonly found: readonly FoundSecret[];
  readonly spec: StackSpec;
  readonly warnings: readonly ImportWarning[];
  readonly summary: ReadonlyMap<string, readonly string[]>;
  readonly secrets: readonly ProvidedSecret[];
}

/** Loads and translates; throws ComposeError (input) or SpecError (a spec the importer got wrong). */
export async function importCompose(opts: ImportOptions): Promise<ImportResult> {
  const project = loadCompose(opts);
  const detected = await scanValues(valuesOf(project));
  const t = translate(project, opts, detected);
  const text = stackYaml({ spec: t.spec, files: project.files.map((f) => f.split('/').pop()!), secrets: t.secrets, origins: t.origins });
  // The last line of defence: whatever the translation did, no secret value leaves this process.
  for (const [value, where] of project.secretValues) {
    if (text.includes(value)) throw new ComposeError([{ file: project.files[0], path: [], message: `the value of ${where} would end up in stack.yaml; nothing was written (please report this)` }]);
  }
  for (const value of t.secretStrings) {
    if (text.includes(value)) throw new ComposeError([{ file: project.files[0], path: [], message: `a value found to be secret would end up in stack.yaml (in a command or a file); nothing was written: move it into an environment variable` }]);
  }
  const spec = parseSpecYaml(text, 'stack.yaml (imported)');
  // Project-wide warnings first, then by service; a service's own keep their order. Code-point order, not the locale's.
  const warnings = [...t.warnings].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  return { text, spec, warnings, summary: t.summary, secrets: t.secrets, found: t.found };
}

/** Every variable value of every service (environment and env files): what the secret scan reads. */
function valuesOf(project: ComposeProject): [string, string][] {
  const out: [string, string][] = [];
  for (const s of Object.values(project.services)) {
    for (const [k, v] of Object.entries(s.config.environment ?? {})) if (typeof v === 'string' && v !== '') out.push([k, v]);
    for (const f of s.envFiles) for (const [k, v] of Object.entries(f.vars)) if (v !== '') out.push([k, v]);
  }
  return out;
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
