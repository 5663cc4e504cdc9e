/**
 * The JSON Schema agrees with zod where it can: every spec the project ships validates against it
 * with ajv, and typical mistakes (an unknown field, a wrong type, a bad apiVersion) are rejected by
 * both. Checks across fields (a web component's healthPath or probe) are zod's alone.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { stackJsonSchema } from '../../model/json-schema';
import { parseSpec } from '../../model/load';

const ROOT = join(__dirname, '..', '..');
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validate = ajv.compile(stackJsonSchema());
const read = (file: string) => parse(readFileSync(file, 'utf8'));
const errors = (data: unknown) => (validate(data) ? [] : validate.errors!.map((e) => `${e.instancePath} ${e.message}`));

const SPECS = join(ROOT, 'test', 'fixtures', 'specs');
const COMPOSE = join(ROOT, 'test', 'fixtures', 'compose');
const valid = [
  join(ROOT, 'examples', 'dataplatform.stack.yaml'),
  join(SPECS, 'minimal.yaml'),
  ...readdirSync(COMPOSE)
    .sort()
    .map((d) => join(COMPOSE, d, 'stack.yaml')),
];

describe('JSON Schema and zod agree', () => {
  it.each(valid.map((f) => [f.slice(ROOT.length + 1), f]))('%s is valid for both', (_, file) => {
    const data = read(file);
    expect(errors(data)).toEqual([]);
    expect(() => parseSpec(data, file)).not.toThrow();
  });

  const minimal = () => read(join(SPECS, 'minimal.yaml'));
  it.each([
    ['an unknown top-level field', () => ({ ...minimal(), replicas: 2 }), "must NOT have additional properties"],
    ['an unknown component field', () => read(join(SPECS, 'unknown-field.yaml')), 'must NOT have additional properties'],
    ['a port of the wrong type', () => { const s = minimal(); s.components.api.port = '8000'; return s; }, '/components/api/port must be integer'],
    ['a port out of range', () => read(join(SPECS, 'bad-port.yaml')), '/components/api/port must be <= 65535'],
    ['a bad image reference', () => read(join(SPECS, 'several-problems.yaml')), '/components/api/image must match pattern'],
    ['an unknown apiVersion', () => ({ ...minimal(), apiVersion: 'stackport.dev/v2' }), '/apiVersion must be equal to one of the allowed values'],
    ['an apiVersion of the wrong type', () => ({ ...minimal(), apiVersion: 1 }), '/apiVersion must be string'],
    ['an unknown component kind', () => { const s = minimal(); s.components.api.kind = 'daemon'; return s; }, '/components/api'],
    ['no components', () => ({ ...minimal(), components: {} }), '/components must NOT have fewer than 1 properties'],
  ])('rejects %s, as zod does', (_, make, message) => {
    const data = make();
    expect(errors(data).join('\n')).toContain(message);
    expect(() => parseSpec(data, 'stack.yaml')).toThrow();
  });
});
