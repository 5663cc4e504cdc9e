/**
 * Specs read from YAML: a valid file means the same as its TypeScript twin, and every error names
 * the file and the line:column a user has to look at.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../model/errors';
import { defineStack, loadSpecFile, parseSpecYaml } from '../../model/load';

const FIXTURES = join(__dirname, '..', 'fixtures', 'specs');
const fixture = (name: string) => join(FIXTURES, name);

/**
 * "line:column" of `token` on the line whose trimmed text is `line` in `file`, 1-based as in the
 * error messages. Computed from the fixture so the expectation and the file cannot drift apart.
 */
function where(file: string, line: string, token = line): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const matches = lines.flatMap((l, i) => (l.trim() === line ? [i] : []));
  if (matches.length !== 1) throw new Error(`expected exactly one line "${line}" in ${file}, found ${matches.length}`);
  const i = matches[0];
  return `${i + 1}:${lines[i].indexOf(token) + 1}`;
}

/** The SpecError a call must throw. */
function specError(fn: () => unknown): SpecError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error('expected a SpecError, but the spec was accepted');
}

describe('loading a valid file', () => {
  it('minimal.yaml equals the same spec defined in TypeScript', () => {
    const fromYaml = loadSpecFile(fixture('minimal.yaml'));
    const fromTs = defineStack({
      apiVersion: 'stackport.dev/v1alpha1',
      name: 'shop',
      components: {
        api: {
          kind: 'web',
          image: 'ghcr.io/acme/shop-api:1.0.0',
          port: 8000,
          healthPath: '/health',
          env: { LOG_LEVEL: 'info' },
          secretEnv: { PAYMENT_API_KEY: 'payments/api-key' },
          uses: ['postgres', { to: 'redis', redisDb: 1 }],
          after: ['migrate'],
        },
        migrate: { kind: 'job', image: 'ghcr.io/acme/shop-api:1.0.0', command: ['alembic', 'upgrade', 'head'], uses: ['postgres'] },
        postgres: { kind: 'postgres', image: 'postgres:16.4', databases: [{ name: 'app', owner: 'app' }] },
        redis: { kind: 'redis', image: 'redis:7.4' },
      },
      environments: { prod: { components: { api: { replicas: 3 } } } },
    });
    expect(fromYaml).toEqual(fromTs);
    // Spot checks that YAML typed the scalars the way the schema needs them.
    expect(fromYaml.components.api).toMatchObject({ port: 8000, secretEnv: { PAYMENT_API_KEY: { secret: 'payments', key: 'api-key' } } });
  });

  it('parseSpecYaml accepts the same text', () => {
    const text = readFileSync(fixture('minimal.yaml'), 'utf8');
    expect(parseSpecYaml(text, 'inline.yaml')).toEqual(loadSpecFile(fixture('minimal.yaml')));
  });
});

describe('invalid values point at their line', () => {
  it('port: 70000 is reported at file:line:col of the value', () => {
    const file = fixture('bad-port.yaml');
    const err = specError(() => loadSpecFile(file));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0].location).toBe(where(file, 'port: 70000', '70000'));
    expect(err.message).toContain(`${file}:${where(file, 'port: 70000', '70000')}: components.api.port: must be a port number from 1 to 65535`);
    expect(err.message).toMatch(/bad-port\.yaml:8:11: components\.api\.port: /);
  });

  it('every problem in a file carries its own line', () => {
    const file = fixture('several-problems.yaml');
    const err = specError(() => loadSpecFile(file));
    expect(err.message).toContain(`Invalid stack spec in ${file} (3 problems):`);
    expect(err.message).toContain(`${file}:${where(file, 'image: ghcr.io/acme/Shop-API:1.0', 'ghcr')}: components.api.image: must be a container image reference`);
    expect(err.message).toContain(`${file}:${where(file, 'port: 70000', '70000')}: components.api.port: must be a port number from 1 to 65535`);
    expect(err.message).toMatch(new RegExp(`several-problems\\.yaml:${where(file, 'DB_PASSWORD: hunter2').split(':')[0]}:\\d+: components\\.api\\.env\\.DB_PASSWORD: looks like a secret`));
  });

  it('an unknown field points at the unknown key', () => {
    const file = fixture('unknown-field.yaml');
    const err = specError(() => loadSpecFile(file));
    expect(err.message).toContain('components.api.ports: unknown field');
    expect(err.issues[0].location).toBe(where(file, 'ports: [8000]', 'ports'));
  });

  it('a missing required field points at its parent', () => {
    const file = fixture('missing-field.yaml');
    const err = specError(() => loadSpecFile(file));
    expect(err.issues).toHaveLength(1);
    expect(err.message).toContain('components.api.healthPath: is required');
    // healthPath belongs under `api:`; the location is that key's line, not the first child's.
    expect(err.issues[0].location).toBe(where(file, 'api:', 'api'));
  });

  it('a missing field in a list item points at the item', () => {
    const text = ['name: shop', 'components:', '  db:', '    kind: postgres', '    databases:', '      - name: app', ''].join('\n');
    const err = specError(() => parseSpecYaml(text, 'inline.yaml'));
    expect(err.message).toContain('inline.yaml:6:9: components.db.databases[0].owner: is required');
  });

  it('a missing top-level field points at the document', () => {
    const err = specError(() => parseSpecYaml('components:\n  redis:\n    kind: redis\n', 'inline.yaml'));
    expect(err.message).toContain('inline.yaml:1:1: name: is required');
  });
});

describe('YAML that is not valid', () => {
  it('broken syntax reports the line', () => {
    const file = fixture('broken-syntax.yaml');
    const err = specError(() => loadSpecFile(file));
    const line = where(file, 'image: ghcr.io/acme/shop-api:1.0.0').split(':')[0];
    expect(err.message).toContain(`Invalid stack spec in ${file}`);
    expect(err.message).toMatch(new RegExp(`broken-syntax\\.yaml:${line}:\\d+: \\(root\\): not valid YAML: `));
    expect(err.issues[0].location).toMatch(new RegExp(`^${line}:`));
  });

  it('an unclosed flow sequence is a YAML error with a location', () => {
    const err = specError(() => parseSpecYaml('name: shop\ncomponents: [\n', 'inline.yaml'));
    expect(err.message).toMatch(/inline\.yaml:\d+:\d+: \(root\): not valid YAML: /);
  });

  it('duplicate keys are an error at the second occurrence', () => {
    const file = fixture('duplicate-key.yaml');
    const err = specError(() => loadSpecFile(file));
    expect(err.issues).toHaveLength(1);
    expect(err.message).toContain('not valid YAML: Map keys must be unique');
    expect(err.issues[0].location).toBe(where(file, 'port: 8001', 'port'));
  });

  it('duplicate component names are an error too', () => {
    const text = 'name: shop\ncomponents:\n  redis: { kind: redis }\n  redis: { kind: redis, password: false }\n';
    const err = specError(() => parseSpecYaml(text, 'inline.yaml'));
    expect(err.message).toContain('inline.yaml:4:3: (root): not valid YAML: Map keys must be unique');
  });
});

describe('files that cannot be read', () => {
  it('a missing file gives an error naming the file', () => {
    const file = fixture('does-not-exist.yaml');
    const err = specError(() => loadSpecFile(file));
    expect(err.source).toBe(file);
    expect(err.message).toContain(`Invalid stack spec in ${file}`);
    expect(err.message).toContain(`${file}: (root): file not found`);
  });
});
