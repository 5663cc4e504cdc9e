/**
 * Writes schema/stack.schema.json and docs/spec.md from the zod schema (`npm run schema`). Run it
 * after changing a field; test/model/json-schema.test.ts fails while either file is stale.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stackJsonSchemaText } from '../model/json-schema';
import { packageRoot, SCHEMA_FILE, SPEC_DOC_FILE } from '../model/package-files';
import { specDoc } from '../model/spec-doc';

const root = packageRoot(__dirname);
for (const [file, text] of [
  [SCHEMA_FILE, stackJsonSchemaText()],
  [SPEC_DOC_FILE, specDoc()],
] as const) {
  const path = join(root, file);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  console.log(`wrote ${file}`);
}
