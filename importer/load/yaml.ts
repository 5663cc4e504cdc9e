/**
 * Reads one compose file as YAML 1.2 with merge keys (`<<: *anchor`), the way compose does, and
 * keeps the document so later errors can point at a line. Limits: model/read-yaml.ts.
 */
import { Scalar, isMap, isNode, isScalar, isSeq, visit, type Document, type Node } from 'yaml';
import { readYaml, YamlInputError, type YamlInput } from '../../model/read-yaml';
import { fail } from './errors';

/** What a `!reset` value becomes: the key is removed from what earlier files or `extends` gave it. */
export const RESET = '\u0003reset';

/** What a `!override` value is wrapped in: the value replaces the base's instead of merging with it. */
export const OVERRIDE = '\u0003override';

export function isOverride(value: unknown): value is { [OVERRIDE]: unknown } {
  return typeof value === 'object' && value !== null && OVERRIDE in value;
}

/** The plain tree: `!reset` keys removed, `!override` values unwrapped. */
export function withoutResets(value: unknown): unknown {
  if (isOverride(value)) return withoutResets(value[OVERRIDE]);
  if (Array.isArray(value)) return value.filter((v) => v !== RESET).map(withoutResets);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== RESET).map(([k, v]) => [k, withoutResets(v)]));
  return value;
}

export interface YamlFile {
  readonly file: string;
  readonly data: Record<string, unknown>;
  /** "line:column" of a key path (its value, or the key with `atKey`); the nearest existing ancestor when the path is missing. */
  locate(path: readonly (string | number)[], atKey?: boolean): string | undefined;
}

export function parseYamlFile(text: string, file: string): YamlFile {
  let input: YamlInput;
  try {
    input = readYaml(text, { merge: true });
  } catch (e) {
    if (e instanceof YamlInputError) fail(file, [], e.message, e.location);
    throw e;
  }
  const { doc, at } = input;
  visit(doc, {
    Node(_, node) {
      if ((node as { tag?: string }).tag === '!reset') return new Scalar(RESET);
      if ((node as { tag?: string }).tag === '!override') {
        (node as { tag?: string }).tag = undefined;
        return doc.createNode({ [OVERRIDE]: node });
      }
      return undefined;
    },
  });
  let data: unknown;
  try {
    data = input.toJS();
  } catch (e) {
    if (e instanceof YamlInputError) fail(file, [], e.message, e.location);
    throw e;
  }
  if (data === null || data === undefined) fail(file, [], 'the file is empty; a compose file needs at least "services"');
  if (typeof data !== 'object' || Array.isArray(data)) fail(file, [], 'the top level must be a mapping (services:, volumes:, ...)', '1:1');
  return { file, data: data as Record<string, unknown>, locate: (path, atKey = false) => locate(doc, path, atKey, at) };
}

function locate(doc: Document, path: readonly (string | number)[], atKey: boolean, at: (offset: number) => string): string | undefined {
  const pos = (n: Node) => (n.range ? at(n.range[0]) : undefined);
  for (let n = path.length; n > 0; n--) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    const key = path[n - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (pair && isNode(pair.key)) return n === path.length && !atKey && isNode(pair.value) ? pos(pair.value) : pos(pair.key);
    } else if (isSeq(parent) && typeof key === 'number' && isNode(parent.items[key])) {
      return pos(parent.items[key] as Node);
    }
  }
  return doc.contents && isNode(doc.contents) ? pos(doc.contents) : undefined;
}
