import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SCHEMA_LINE } from '../../importer/write/schema-line';
import { loadSpecFile } from '../../model/load';
import { referenceStack } from '../../model/reference';

const EXAMPLE = join(__dirname, '../../examples/dataplatform.stack.yaml');

describe('examples/dataplatform.stack.yaml', () => {
  it('is the reference stack, loaded from YAML', () => {
    expect(loadSpecFile(EXAMPLE)).toEqual(referenceStack);
  });

  it('names the JSON Schema on its first line, for editors', () => {
    const path = readFileSync(EXAMPLE, 'utf8').split('\n')[0].match(SCHEMA_LINE)?.[1];
    expect(path && existsSync(resolve(EXAMPLE, '..', path))).toBe(true);
  });
});
