/**
 * The one way stackport reads YAML it did not write: compose files, stack specs, mounted
 * configuration. Untrusted input must not exhaust memory or the stack, so size, nesting depth and
 * alias expansion are limited before anything is built from the text; every refusal is a
 * YamlInputError whose message fits on one line (the caller adds the file name).
 */
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, isAlias, isCollection, isPair, parseAllDocuments, parseDocument, type Document, type Node } from 'yaml';

/** Far above any real compose file or stack spec; far below what hurts a laptop. */
export const YAML_LIMITS = {
  /** Bytes of text. */
  maxBytes: 4 * 1024 * 1024,
  /** Nested mappings and lists. */
  maxDepth: 64,
  /**
   * Alias expansion (the yaml package's measure: each use of an anchor, times the aliases inside
   * it). sentry's self-hosted compose file needs between 1,000 and 2,000; a billion-laughs file
   * passes any such limit within a few levels.
   */
  maxAliasCount: 10_000,
} as const;

export class YamlInputError extends Error {
  constructor(
    message: string,
    /** "line:column" when known. */
    readonly location?: string,
  ) {
    super(message);
    this.name = 'YamlInputError';
  }
}

export interface YamlInput {
  readonly doc: Document;
  readonly lineCounter: LineCounter;
  /** "line:column" of an offset in the text. */
  at(offset: number): string;
  /** The plain data, with alias expansion limited. */
  toJS(): unknown;
}

export interface ReadYamlOptions {
  /** Merge keys (`<<: *anchor`), as compose reads them. @default false */
  readonly merge?: boolean;
}

/** Reads a YAML file's text, refusing one over the size limit before reading it; fs errors pass through. */
export function readYamlText(file: string): string {
  const size = statSync(file).size;
  if (size > YAML_LIMITS.maxBytes) throw new YamlInputError(tooBig(size));
  return readFileSync(file, 'utf8');
}

/** Parses one YAML document within YAML_LIMITS; throws YamlInputError. */
export function readYaml(text: string, opts: ReadYamlOptions = {}): YamlInput {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > YAML_LIMITS.maxBytes) throw new YamlInputError(tooBig(bytes));
  // Deep flow nesting ("[[[[...") costs the parser seconds before the tree can be checked; this
  // rough count (brackets in block text count too) only stops what no real file has.
  if (flowDepth(text) > 16 * YAML_LIMITS.maxDepth) throw new YamlInputError(tooDeep());
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: opts.merge ?? false, uniqueKeys: true, prettyErrors: false, strict: false });
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return `${p.line}:${p.col}`;
  };
  if (doc.errors.length > 0) {
    // Later YAML errors are mostly echoes of the first; report that one.
    const e = doc.errors[0];
    if (e.code === 'RESOURCE_EXHAUSTION') throw new YamlInputError(tooDeep(), at(e.pos[0]));
    const duplicate = e.code === 'DUPLICATE_KEY' ? ` (key "${text.slice(e.pos[0]).split(/[:\n]/)[0].trim().slice(0, 80)}")` : '';
    throw new YamlInputError(`not valid YAML: ${e.message.split('\n')[0]}${duplicate}`, at(e.pos[0]));
  }
  const deep = deepestNode(doc.contents as Node | null);
  if (deep) throw new YamlInputError(tooDeep(), deep.range ? at(deep.range[0]) : undefined);
  return {
    doc,
    lineCounter,
    at,
    toJS() {
      try {
        return doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
      } catch (e) {
        if (e instanceof ReferenceError && /alias/i.test(e.message)) {
          throw new YamlInputError(tooManyAliases());
        }
        if (e instanceof RangeError) throw new YamlInputError(tooDeep());
        throw e;
      }
    },
  };
}

/** Every document of a multi-document stream (`---`), each within YAML_LIMITS; throws YamlInputError. */
export function readYamlDocuments(text: string): unknown[] {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > YAML_LIMITS.maxBytes) throw new YamlInputError(tooBig(bytes));
  if (flowDepth(text) > 16 * YAML_LIMITS.maxDepth) throw new YamlInputError(tooDeep());
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const docs = Array.isArray(parsed) ? parsed : [parsed];
  return docs.map((doc) => {
    const e = doc.errors[0];
    if (e) {
      const p = lineCounter.linePos(e.pos[0]);
      throw new YamlInputError(e.code === 'RESOURCE_EXHAUSTION' ? tooDeep() : `not valid YAML: ${e.message.split('\n')[0]}`, `${p.line}:${p.col}`);
    }
    if (deepestNode(doc.contents as Node | null)) throw new YamlInputError(tooDeep());
    try {
      return doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
    } catch (x) {
      if (x instanceof ReferenceError || x instanceof RangeError) throw new YamlInputError(x instanceof RangeError ? tooDeep() : tooManyAliases());
      throw x;
    }
  });
}

function tooManyAliases(): string {
  return `its YAML aliases (*name) expand beyond ${YAML_LIMITS.maxAliasCount.toLocaleString('en-US')} copies (each use of an anchor counted with the aliases inside it); refused as a resource exhaustion attack (write the values out, or use fewer nested anchors)`;
}

function tooBig(bytes: number): string {
  return `the file is ${bytes} bytes; YAML input is limited to ${YAML_LIMITS.maxBytes} bytes`;
}

function tooDeep(): string {
  return `YAML mappings and lists nest deeper than ${YAML_LIMITS.maxDepth} levels; refused`;
}

/** Deepest `[`/`{` nesting outside quotes and comments, roughly: a cheap bound taken before parsing. */
function flowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let quote = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      else if (c === '\n' && quote === '#') quote = '';
      continue;
    }
    if (c === '"' || c === "'") {
      // A quote starts a quoted scalar only at the start of a token; "it's" inside a word does not.
      const prev = text[i - 1];
      if (prev === undefined || /[\s,[{:]/.test(prev)) quote = c;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) quote = '#';
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return max;
}

/** The first node deeper than the limit (block nesting, aliases left as they are), or undefined. */
function deepestNode(root: Node | null): Node | undefined {
  const stack: [unknown, number][] = [[root, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (!node || isAlias(node)) continue;
    if (isPair(node)) {
      stack.push([node.key, depth], [node.value, depth]);
      continue;
    }
    if (!isCollection(node)) continue;
    if (depth + 1 > YAML_LIMITS.maxDepth) return node as Node;
    for (const item of node.items) stack.push([item, depth + 1]);
  }
  return undefined;
}
