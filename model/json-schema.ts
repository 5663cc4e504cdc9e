/**
 * The JSON Schema of `stack.yaml`, generated from the zod schema: what users write (zod's input
 * side), with every field's description and default. `npm run schema` writes it to
 * schema/stack.schema.json; test/model/json-schema.test.ts fails when the committed file is stale.
 */
import { z } from 'zod';
import { SPEC_VERSION, stackSpec } from './schema';

/** Where the schema of a version is published; also its `$id`. */
export function schemaId(version: string = SPEC_VERSION): string {
  return `https://stackport.dev/schema/${version.split('/').pop()}/stack.schema.json`;
}

export type JsonSchema = { [key: string]: unknown };

/** The JSON Schema (draft 2020-12) of the current spec version. */
export function stackJsonSchema(): JsonSchema {
  const { $schema, description, ...body } = z.toJSONSchema(stackSpec, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' }) as JsonSchema;
  // Identity first, so a reader sees which version this is before any field.
  return withoutSafeIntegerBounds({ $schema, $id: schemaId(), title: `stackport stack spec (${SPEC_VERSION})`, description, ...body }) as JsonSchema;
}

/** The schema as committed: 2-space indent, trailing newline. */
export function stackJsonSchemaText(): string {
  return `${JSON.stringify(stackJsonSchema(), null, 2)}\n`;
}

/** zod gives every `.int()` the safe-integer range; those bounds say nothing to a user and are dropped. */
function withoutSafeIntegerBounds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutSafeIntegerBounds);
  if (typeof node !== 'object' || node === null) return node;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(node)) {
    if ((k === 'minimum' && v === Number.MIN_SAFE_INTEGER) || (k === 'maximum' && v === Number.MAX_SAFE_INTEGER)) continue;
    out[k] = withoutSafeIntegerBounds(v);
  }
  return out;
}
