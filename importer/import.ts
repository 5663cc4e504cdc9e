/**
 * `stackport import`: compose files -> validated stack spec -> `<out>/stack.yaml`. The spec is
 * validated (from the written text, as a user's edit would be) before anything is written, so
 * invalid input leaves no file behind.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpecYaml } from '../model/load';
import type { StackSpec } from '../model/schema';
import { loadCompose, type LoadOptions } from './load';
import { ComposeError } from './load/errors';
import type { ComposeProject, ImportWarning } from './load/model';
import type { FoundSecret, ProvidedSecret, TranslateOptions } from './translate/context';
import { scanFiles, scanValues } from './translate/secret-values';
import { translate, type TranslateResult } from './translate';
import { flowTable, routeTable } from './write/overview';
import { schemaLine } from './write/schema-line';
import { stackYaml } from './write/stack-yaml';

/** `out` (TranslateOptions) is also where the editor's schema line is relative to. */
export type ImportOptions = LoadOptions & TranslateOptions;

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
  const t = await secretFilesApart(translate(project, opts, detected));
  if (Object.keys(t.spec.components).length === 0) throw new ComposeError([{ file: project.files[0], path: ['services'], message: nothingToRun(project) }]);
  const body = stackYaml({ spec: t.spec, files: project.files.map((f) => f.split('/').pop()!), secrets: t.secrets, origins: t.origins });
  // The last line of defence: whatever the translation did, no secret value leaves this process.
  // The schema line is left out of the check: it is a path on this machine, not compose input.
  for (const [value, where] of project.secretValues) {
    if (appearsIn(t.spec, value)) throw new ComposeError([{ file: project.files[0], path: [], message: `the value of ${where} would end up in stack.yaml; nothing was written (please report this)` }]);
  }
  for (const value of t.secretStrings) {
    if (appearsIn(t.spec, value)) throw new ComposeError([{ file: project.files[0], path: [], message: `a value found to be secret would end up in stack.yaml (in a command or a file); nothing was written: move it into an environment variable` }]);
  }
  const text = `${schemaLine(opts.out ?? '.')}\n${body}`;
  // A spec the importer wrote that does not validate is the importer's bug, never the user's input.
  const spec = parseSpecYaml(text, 'stack.yaml as imported (an importer bug: nothing was written; please report it with the compose files)');
  // Project-wide warnings first, then by service; a service's own keep their order. Code-point order, not the locale's.
  const warnings = [...t.warnings].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  const summary = new Map(t.summary);
  summary.set('(routes)', routeTable(spec));
  summary.set('(flows)', flowTable(spec));
  return { text, spec, warnings, summary, secrets: t.secrets, found: t.found };
}

/** Why an import yields no component: every service behind an inactive profile, or none that runs an application. */
function nothingToRun(project: ComposeProject): string {
  const leftOut = project.warnings.filter((w) => w.key === 'profiles');
  const profiles = [...new Set(leftOut.flatMap((w) => /profile (.*?) is not active/.exec(w.why)?.[1].split(', ') ?? []))];
  const active = Object.keys(project.services);
  if (active.length === 0 && leftOut.length > 0) {
    return `every service is in a profile that is not active (${leftOut.map((w) => w.service).join(', ')}): pass the ones to deploy, e.g. ${profiles.map((p) => `--profile ${p}`).join(' ')}`;
  }
  return (
    `no service becomes a component of the stack (${active.join(', ') || 'none'}${leftOut.length > 0 ? `; left out by profile: ${leftOut.map((w) => w.service).join(', ')}` : ''}): ` +
    'a reverse proxy becomes the Ingress or Gateway routes to the other services, so a stack needs at least one service that runs an application or a server' +
    (profiles.length > 0 ? ` (perhaps behind ${profiles.map((p) => `--profile ${p}`).join(' ')})` : '')
  );
}

const ALNUM = /[A-Za-z0-9]/;

/**
 * Whether `value` is written anywhere in the spec: in a string value (names and keys are not
 * values), as a word of its own (not inside a longer word: a password "pass" is not leaked by
 * `password: false`, nor "secret" by the reference `shop-secrets/key`). The references under
 * secretEnv and secretFiles are the importer's own Secret names and keys, never values.
 */
export function appearsIn(spec: unknown, value: string): boolean {
  const visit = (node: unknown, key: string | undefined): boolean => {
    if (key === 'secretEnv' || key === 'secretFiles') return false;
    if (typeof node === 'string') {
      for (let at = node.indexOf(value); at >= 0; at = node.indexOf(value, at + 1)) {
        const before = at === 0 ? '' : node[at - 1];
        const after = node[at + value.length] ?? '';
        if (!ALNUM.test(before) || !ALNUM.test(value[0])) {
          if (!ALNUM.test(after) || !ALNUM.test(value[value.length - 1])) return true;
        }
      }
      return false;
    }
    if (Array.isArray(node)) return node.some((n) => visit(n, undefined));
    if (node && typeof node === 'object') return Object.entries(node).some(([k, v]) => visit(v, k));
    return false;
  };
  return value.length > 0 && visit(spec, undefined);
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

/**
 * A configuration file that holds a secret (a token, a private key, a connection string with a
 * password) is mounted from a Secret the user creates instead of a ConfigMap; its text is dropped.
 */
async function secretFilesApart(t: TranslateResult): Promise<TranslateResult> {
  const texts = Object.entries<Record<string, any>>(t.spec.components).flatMap(([comp, c]) => Object.entries<string>(c.files ?? {}).map(([path, text]) => [`${comp}\u0000${path}`, text] as const));
  const flagged = await scanFiles(texts);
  if (flagged.size === 0) return t;
  const secrets = [...t.secrets];
  const found = [...t.found];
  const secretName = `${t.spec.name}-secrets`.slice(0, 63).replace(/-+$/, '');
  for (const [at, rule] of flagged) {
    const [comp, path] = at.split('\u0000');
    const c = t.spec.components[comp];
    const service = t.origins.get(comp)?.name ?? comp;
    const key = `${comp}-${path}`.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
    delete c.files[path];
    if (Object.keys(c.files).length === 0) delete c.files;
    c.secretFiles = { ...c.secretFiles, [path]: `${secretName}/${key}` };
    if (!secrets.some((s) => s.key === key)) secrets.push({ secret: secretName, key, from: `the file ${service} mounts at ${path}, which holds a secret` });
    found.push({ service, variable: `file ${path}`, rule });
  }
  return { ...t, secrets, found };
}
