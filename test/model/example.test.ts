import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecFile } from '../../model/load';
import { referenceStack } from '../../model/reference';

describe('examples/dataplatform.stack.yaml', () => {
  it('is the reference stack, loaded from YAML', () => {
    expect(loadSpecFile(join(__dirname, '../../examples/dataplatform.stack.yaml'))).toEqual(referenceStack);
  });
});
