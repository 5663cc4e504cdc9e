/**
 * Turns a spec (a TypeScript object or a YAML file) into a validated StackSpec, or throws a
 * SpecError naming the file, the field path and what was expected. Nothing is written here.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { SpecError, type SpecIssue } from './errors';
import { stackSpec, type StackSpec, type StackSpecInput } from './schema';
import { checkSemantics } from './validate';

/** Validates a spec given as data. `source` names it in error messages. */
export function parseSpec(input: unknown, source = 'stack spec', locate?: (path: readonly (string | number)[]) => string | undefined): StackSpec {
  const parsed = stackSpec.safeParse(input);
  if (!parsed.success) {
    throw new SpecError(source, parsed.error.issues.map((i) => withLocation(fromZod(i), locate)));
  }
  const issues = checkSemantics(parsed.data);
  if (issues.length > 0) throw new SpecError(source, issues.map((i) => withLocation(i, locate)));
  return parsed.data;
}

/** Defines a spec in TypeScript; validated on the spot so mistakes surface at synth time. */
export function defineStack(input: StackSpecInput, source = 'stack spec (TypeScript)'): StackSpec {
  return parseSpec(input, source);
}

/** Reads and validates a `stack.yaml`. */
export function loadSpecFile(file: string): StackSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SpecError(file, [{ path: [], message: `cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})` }]);
  }
  return parseSpecYaml(text, file);
}

/** Validates YAML text; errors carry line:column positions in `source`. */
export function parseSpecYaml(text: string, source: string): StackSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new SpecError(
      source,
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { path: [], location: `${pos.line}:${pos.col}`, message: `not valid YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  return parseSpec(doc.toJS(), source, (path) => locate(doc, lineCounter, path));
}

function locate(doc: Document, lc: LineCounter, path: readonly (string | number)[]): string | undefined {
  // Walk up to the deepest existing node so a missing field points at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return `${pos.line}:${pos.col}`;
    }
  }
  return undefined;
}

function withLocation(issue: SpecIssue, locate?: (path: readonly (string | number)[]) => string | undefined): SpecIssue {
  const location = locate?.(issue.path);
  return location ? { ...issue, location } : issue;
}

function fromZod(issue: z.core.$ZodIssue): SpecIssue {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  switch (issue.code) {
    case 'unrecognized_keys':
      return { path, message: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` };
    case 'invalid_type':
      return issue.input === undefined
        ? { path, message: `is required (expected ${issue.expected})` }
        : { path, message: `expected ${issue.expected}, got ${describe(issue.input)}` };
    case 'invalid_value':
      return { path, message: `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}` };
    case 'too_small':
    case 'too_big':
      return { path, message: `${issue.message.replace(/^Too (small|big): expected \w+ to (have|be) /, 'must be ')}${issue.input !== undefined && typeof issue.input !== 'object' ? `, got ${describe(issue.input)}` : ''}` };
    default:
      return { path, message: issue.input !== undefined && typeof issue.input !== 'object' ? `${issue.message}, got ${describe(issue.input)}` : issue.message };
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return `${typeof value} ${String(value)}`;
}
