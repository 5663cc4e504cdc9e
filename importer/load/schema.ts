/**
 * Validation against the official Compose JSON schema (schema/compose-spec.json, see SOURCE.md),
 * compiled once with ajv. Of the errors ajv reports, the deepest one is the most specific (a
 * failed `oneOf` also reports every branch); it is turned into a sentence that names the key.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import composeSchema from './schema/compose-spec.json';

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  validator ??= new Ajv2020({ allErrors: true, strict: false }).compile(composeSchema);
  return validator;
}

export interface SchemaProblem {
  readonly path: (string | number)[];
  readonly message: string;
  /** The problem is a key that should not be there; point at the key, not its value. */
  readonly atKey: boolean;
}

/** The first problem of a compose document, or undefined when it is valid. */
export function checkComposeSchema(data: unknown): SchemaProblem | undefined {
  const validate = compiled();
  if (validate(data)) return undefined;
  const errors = validate.errors ?? [];
  const depth = (e: ErrorObject) => e.instancePath.split('/').length + (e.keyword === 'unevaluatedProperties' || e.keyword === 'additionalProperties' ? 1 : 0);
  const rank = (e: ErrorObject) => (['oneOf', 'anyOf', 'if', 'not'].includes(e.keyword) ? 0 : 1);
  const best = [...errors].sort((a, b) => depth(b) - depth(a) || rank(b) - rank(a))[0];
  const path = best.instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) && isArrayAt(data, best.instancePath) ? Number(p) : p));
  return describe(best, path);
}

/** Whether the last segment of a JSON pointer indexes an array. */
function isArrayAt(data: unknown, pointer: string): boolean {
  const parts = pointer.split('/').slice(1, -1);
  let node: unknown = data;
  for (const p of parts) node = Array.isArray(node) ? node[Number(p)] : (node as Record<string, unknown>)?.[p];
  return Array.isArray(node);
}

function describe(e: ErrorObject, path: (string | number)[]): SchemaProblem {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'unevaluatedProperties':
    case 'additionalProperties': {
      const key = String(p.unevaluatedProperty ?? p.additionalProperty);
      return { path: [...path, key], atKey: true, message: 'is not a compose key here (misspelt, or in the wrong place)' };
    }
    case 'type':
      return { path, atKey: false, message: `must be ${article(String(p.type).split(',').join(' or '))}` };
    case 'enum':
      return { path, atKey: false, message: `must be one of ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'required':
      return { path, atKey: false, message: `needs "${String(p.missingProperty)}"` };
    case 'uniqueItems':
      return { path, atKey: false, message: `lists the same item twice (items ${String(p.j)} and ${String(p.i)})` };
    case 'pattern':
      return { path, atKey: path.length > 0 && /Properties/.test(e.schemaPath), message: `does not match the pattern ${String(p.pattern)}` };
    default:
      return { path, atKey: false, message: e.message ?? 'is not valid compose' };
  }
}

function article(types: string): string {
  return types.replace(/\b(object|array|string|number|integer|boolean|null)\b/g, (t) => ({ object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', integer: 'an integer', boolean: 'true or false', null: 'null' })[t]!);
}
