/**
 * Files stackport ships beside its code (the JSON Schema of `stack.yaml`, the field reference), found
 * from the package root so they resolve from a clone, from node_modules/stackport and from compiled
 * code one folder below the root alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The JSON Schema of `stack.yaml`, relative to the package root. */
export const SCHEMA_FILE = 'schema/stack.schema.json';
/** The field reference generated from the same schema. */
export const SPEC_DOC_FILE = 'docs/spec.md';

/** The nearest folder at or above `from` whose package.json is stackport's. */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'stackport') return dir;
    if (dirname(dir) === dir) throw new Error(`no stackport package.json at or above ${from}`);
  }
}
