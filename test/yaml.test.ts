import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { toYaml } from '../charts/yaml';
import { ENVIRONMENTS } from '../model/schema';
import { manifests } from './support/manifests';

const roundTrip = (docs: object[]) => parseAllDocuments(toYaml(docs)).map((d) => {
  expect(d.errors).toEqual([]);
  return d.toJS();
});

describe('toYaml', () => {
  it.each(ENVIRONMENTS)('writes %s so that a YAML parser reads back exactly the objects', (env) => {
    const objs = manifests(undefined, env);
    expect(roundTrip(objs)).toEqual(objs);
  });

  it('quotes every string a YAML parser would read as something else', () => {
    const awkward = [
      'true', 'False', 'null', '~', 'yes', 'No', 'on', 'OFF', 'y', '', ' ', '1', '1.0', '0x1F', '1e3', '.5', '+1', '-1', '0o17', '.inf', '.NaN',
      '1.4.2', '10s', '0 0 * * *', 'a: b', 'a #b', '#x', '- x', '? x', '[x]', '{x}', '&a', '*a', '!tag', '|', '>', '%x', '@x', '`x`',
      "it's", 'say "hi"', 'back\\slash', 'tab\there', ' leading', 'trailing ', 'ünïcødé', '日本', 'emoji 🙂', '\u2028', 'ctrl\u0001',
      'line1\nline2', 'line1\nline2\n', 'line1\n\n', '\nleading newline', '  indented\nblock', 'x\r\ny', 'a\n  b\n', '$(DATABASE_PASSWORD)',
      'postgresql://app:$(DATABASE_PASSWORD)@postgres:5432/app', 'ghcr.io/acme/api:1.4.2', 'app.kubernetes.io/name',
    ];
    const doc = { strings: awkward, keyed: Object.fromEntries(awkward.map((s, i) => [s || `empty${i}`, s])) };
    expect(roundTrip([doc])).toEqual([doc]);
  });

  it('keeps numbers, booleans, nulls, empty collections and nesting', () => {
    const doc = { a: 1, b: -2.5, c: true, d: null, e: [], f: {}, g: [[1, 2], [{ h: [] }]], i: [{ j: { k: 'v' }, l: [3] }] };
    expect(roundTrip([doc, doc])).toEqual([doc, doc]);
  });

  it('writes scripts as readable literal blocks', () => {
    const text = toYaml([{ data: { 'run.sh': '#!/bin/sh\nset -eu\necho "$HOME"\n' } }]);
    expect(text).toBe('data:\n  run.sh: |\n    #!/bin/sh\n    set -eu\n    echo "$HOME"\n');
  });
});
