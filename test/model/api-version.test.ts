/**
 * The spec's apiVersion: a known one is read, a missing one is read as the first version with a
 * note, and anything else is an error naming the file, the field, its line and the versions read.
 */
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../model/errors';
import { defineStack, parseSpec, parseSpecYaml } from '../../model/load';
import { SPEC_VERSION, SPEC_VERSIONS } from '../../model/schema';

const BODY = 'name: shop\ncomponents:\n  cache:\n    kind: redis\n';

function read(text: string) {
  const notes: string[] = [];
  const spec = parseSpecYaml(text, 'stack.yaml', { onNote: (n) => notes.push(n) });
  return { spec, notes };
}

function error(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error('expected a SpecError');
}

describe('apiVersion', () => {
  it('this release reads stackport.dev/v1alpha1 and writes the newest version it reads', () => {
    expect(SPEC_VERSIONS).toContain('stackport.dev/v1alpha1');
    expect(SPEC_VERSION).toBe(SPEC_VERSIONS[SPEC_VERSIONS.length - 1]);
  });

  it('a known version is read without a note and kept in the spec', () => {
    const { spec, notes } = read(`apiVersion: stackport.dev/v1alpha1\n${BODY}`);
    expect(notes).toEqual([]);
    expect(spec.apiVersion).toBe('stackport.dev/v1alpha1');
  });

  it('a missing version is read as the first one, with a note saying how to state it', () => {
    const { spec, notes } = read(BODY);
    expect(spec.name).toBe('shop');
    expect(notes).toEqual(['stack.yaml: no apiVersion; read as stackport.dev/v1alpha1 (add apiVersion: stackport.dev/v1alpha1)']);
  });

  it('defineStack accepts a spec without apiVersion silently', () => {
    expect(defineStack({ name: 'shop', components: { cache: { kind: 'redis' } } }).name).toBe('shop');
  });

  it('an unknown version is an error naming the file, the field, its line:col and the versions read', () => {
    const err = error(() => read(`name: shop\napiVersion: stackport.dev/v2\ncomponents:\n  cache:\n    kind: nonsense\n`));
    // Only the version: the rest of a newer file is not judged by this release's schema.
    expect(err.issues).toEqual([{ path: ['apiVersion'], location: '2:13', message: 'unknown version "stackport.dev/v2"; this release reads stackport.dev/v1alpha1' }]);
    expect(err.message).toContain('stack.yaml:2:13: apiVersion: unknown version "stackport.dev/v2"; this release reads stackport.dev/v1alpha1');
  });

  it('a version of the wrong type is an error saying what is expected', () => {
    const err = error(() => read(`apiVersion: 1\n${BODY}`));
    expect(err.message).toContain('stack.yaml:1:13: apiVersion: expected a string such as "stackport.dev/v1alpha1", got number 1; this release reads stackport.dev/v1alpha1');
    const empty = error(() => read(`apiVersion:\n${BODY}`));
    expect(empty.message).toContain('apiVersion: expected a string such as "stackport.dev/v1alpha1", got null');
  });

  it('is checked for specs given as data too', () => {
    expect(() => parseSpec({ apiVersion: 'v1', name: 'shop', components: { cache: { kind: 'redis' } } }, 'spec.json')).toThrow(/spec\.json: apiVersion: unknown version "v1"/);
  });
});
