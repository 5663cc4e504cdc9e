/**
 * Turns a spec (a TypeScript object or a YAML file) into a validated StackSpec, or throws a
 * SpecError naming the file, the field path and what was expected. Nothing is written here.
 */
import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import { SpecError, type SpecIssue } from './errors';
import { readYaml, readYamlText, YamlInputError, type YamlInput } from './read-yaml';
import { SPEC_VERSIONS, stackSpec, type StackSpec, type StackSpecInput } from './schema';
import { checkSemantics } from './validate';

/** Validates a spec given as data. `source` names it in error messages. */
type Locate = (path: readonly (string | number)[], atKey: boolean) => string | undefined;

export function parseSpec(input: unknown, source = 'stack spec', locate?: Locate): StackSpec {
  const version = versionIssue(input);
  // Another version's fields mean other things: judging them by this release's schema would only add noise.
  if (version) throw new SpecError(source, [withLocation(version, locate)]);
  const parsed = stackSpec.safeParse(input, { reportInput: true });
  if (!parsed.success) {
    throw new SpecError(source, sortByLocation(parsed.error.issues.flatMap((i) => fromZod(i, [])).map((i) => withLocation(i, locate))));
  }
  const issues = checkSemantics(parsed.data);
  if (issues.length > 0) throw new SpecError(source, sortByLocation(issues.map((i) => withLocation(i, locate))));
  return parsed.data;
}

/** Defines a spec in TypeScript; validated on the spot so mistakes surface at synth time. */
export function defineStack(input: StackSpecInput, source = 'stack spec (TypeScript)'): StackSpec {
  return parseSpec(input, source);
}

export interface LoadOptions {
  /** Receives notes: things read in a way the file did not say (no apiVersion). The CLI prints them on stderr. */
  readonly onNote?: (note: string) => void;
}

/** Reads and validates a `stack.yaml`. */
export function loadSpecFile(file: string, opts: LoadOptions = {}): StackSpec {
  let text: string;
  try {
    text = readYamlText(file);
  } catch (e) {
    if (e instanceof YamlInputError) throw new SpecError(file, [{ path: [], message: e.message }]);
    const code = (e as NodeJS.ErrnoException).code;
    throw new SpecError(file, [{ path: [], message: code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(e)})` }]);
  }
  return parseSpecYaml(text, file, opts);
}

/** Validates YAML text; errors carry line:column positions in `source`. */
export function parseSpecYaml(text: string, source: string, opts: LoadOptions = {}): StackSpec {
  let input: YamlInput;
  let data: unknown;
  try {
    input = readYaml(text);
    data = input.toJS();
  } catch (e) {
    if (e instanceof YamlInputError) throw new SpecError(source, [{ path: [], ...(e.location ? { location: e.location } : {}), message: e.message }]);
    throw e;
  }
  const { doc, lineCounter } = input;
  const spec = parseSpec(data, source, (path, atKey) => locate(doc, lineCounter, path, atKey));
  if (spec.apiVersion === undefined) opts.onNote?.(`${source}: no apiVersion; read as ${SPEC_VERSIONS[0]} (add apiVersion: ${SPEC_VERSIONS[0]})`);
  return spec;
}

/** An apiVersion this release does not read; a missing one is read as the first version. */
function versionIssue(input: unknown): SpecIssue | undefined {
  if (typeof input !== 'object' || input === null || !('apiVersion' in input) || input.apiVersion === undefined) return undefined;
  const v = input.apiVersion;
  const reads = `this release reads ${SPEC_VERSIONS.join(', ')}`;
  if (typeof v !== 'string') return { path: ['apiVersion'], message: `expected a string such as "${SPEC_VERSIONS[SPEC_VERSIONS.length - 1]}", got ${describe(v)}; ${reads}` };
  if (!(SPEC_VERSIONS as readonly string[]).includes(v)) return { path: ['apiVersion'], message: `unknown version ${JSON.stringify(v)}; ${reads}` };
  return undefined;
}

/**
 * Position of a field: its value, or its key when `atKey`. A path that does not exist (a missing
 * field) points at the key of its deepest existing ancestor.
 */
function locate(doc: Document, lc: LineCounter, path: readonly (string | number)[], atKey: boolean): string {
  const at = (node: Node) => {
    const pos = lc.linePos(node.range![0]);
    return `${pos.line}:${pos.col}`;
  };
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    const key = path[n - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === key);
      if (pair && isNode(pair.key)) return n === path.length && !atKey && isNode(pair.value) ? at(pair.value) : at(pair.key);
    } else if (isSeq(parent) && typeof key === 'number' && isNode(parent.items[key])) {
      return at(parent.items[key] as Node);
    }
  }
  return '1:1';
}

function withLocation(issue: SpecIssue & { atKey?: boolean }, locate?: Locate): SpecIssue {
  const { atKey, ...rest } = issue;
  const location = locate?.(issue.path, atKey ?? false);
  return location ? { ...rest, location } : rest;
}

function sortByLocation(issues: SpecIssue[]): SpecIssue[] {
  const key = (i: SpecIssue) => (i.location ? i.location.split(':').map(Number) : [0, 0]);
  return [...issues].sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
}

/** Zod issues in our words. Nested issues (record keys, unions) carry paths relative to `base`. */
function fromZod(issue: z.core.$ZodIssue, base: (string | number)[]): (SpecIssue & { atKey?: boolean })[] {
  const path = [...base, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => ({ path: [...path, k], atKey: true, message: 'unknown field' }));
    case 'invalid_key':
      return [{ path, atKey: true, message: `${issue.issues[0]?.message ?? "is not a valid name"}, got ${describe(issue.input)}` }];
    case 'invalid_union': {
      // Report the branch whose shape matched (e.g. the object form of a relation), if one did.
      const matched = issue.errors.find((branch) => !branch.some((i) => i.code === 'invalid_type' && i.path.length === 0));
      if (matched) return matched.flatMap((i) => fromZod(i, path));
      // An unknown discriminator (component kind, secrets provider): name its value, not the whole mapping.
      const tag = 'discriminator' in issue && typeof issue.discriminator === 'string' ? issue.discriminator : undefined;
      const got = tag && typeof issue.input === 'object' && issue.input !== null ? (issue.input as Record<string, unknown>)[tag] : issue.input;
      return [{ path, message: `${issue.message === 'Invalid input' ? 'has the wrong form' : issue.message}, got ${got === undefined ? 'none' : describe(got)}` }];
    }
    case 'invalid_type':
      return issue.input === undefined
        ? [{ path, message: `is required (expected ${issue.expected})` }]
        : [{ path, message: `expected ${issue.expected}, got ${describe(issue.input)}` }];
    case 'invalid_value':
      return [{ path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}` }];
    case 'too_small':
    case 'too_big':
      return [{ path, message: `${issue.message.replace(/^Too (small|big): expected \w+ to (have|be) /, 'must be ')}${issue.input !== undefined && typeof issue.input !== 'object' ? `, got ${describe(issue.input)}` : ''}` }];
    default:
      return [{ path, message: issue.input !== undefined && typeof issue.input !== 'object' ? `${issue.message}, got ${describe(issue.input)}` : issue.message }];
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}
