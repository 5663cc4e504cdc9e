/** Interpolation and env files, as the Compose specification defines them. */
import { describe, expect, it } from 'vitest';
import { parseDotenv } from '../../importer/load/dotenv';
import { interpolate, secretMark, secretsIn } from '../../importer/load/interpolate';
import { shellSplit } from '../../importer/load/normalize';

const vars: Record<string, string> = { NAME: 'shop', EMPTY: '', PORT: '8000' };
const run = (t: string, unset: string[] = []) => interpolate(t, { lookup: (n) => vars[n], onUnset: (n) => unset.push(n) });

describe('interpolate', () => {
  it.each([
    ['$NAME and ${NAME}', 'shop and shop'],
    ['${MISSING:-fallback} ${EMPTY:-fallback}', 'fallback fallback'],
    ['${MISSING-fallback} [${EMPTY-fallback}]', 'fallback []'],
    ['${NAME:+set} [${EMPTY:+set}] [${EMPTY+set}] [${MISSING+set}]', 'set [] [set] []'],
    ['${MISSING:-${NAME}-${PORT}}', 'shop-8000'],
    ['price: $$5, literal $${NAME}', 'price: $5, literal ${NAME}'],
    ['a lone $ stays', 'a lone $ stays'],
  ])('%s', (text, expected) => {
    expect(run(text)).toBe(expected);
  });

  it('reports unset variables without a default and substitutes ""', () => {
    const unset: string[] = [];
    expect(run('x${MISSING}y', unset)).toBe('xy');
    expect(unset).toEqual(['MISSING']);
  });

  it('fails on a missing or empty required variable, with its message', () => {
    expect(() => run('${MISSING:?set it}')).toThrow('required variable MISSING is missing a value: set it');
    expect(() => run('${EMPTY:?}')).toThrow('required variable EMPTY is empty');
    expect(run('${EMPTY?}')).toBe('');
    expect(() => run('${MISSING?no}')).toThrow('missing a value: no');
  });

  it('rejects malformed templates', () => {
    expect(() => run('${NAME')).toThrow('missing "}"');
    expect(() => run('${1BAD}')).toThrow('invalid interpolation "${1BAD}"');
    expect(() => run('${}')).toThrow('invalid interpolation');
  });

  it('never resolves a secret-looking variable, not even a required one', () => {
    const v = run('postgresql://app:${DB_PASSWORD:?needed}@db/app ${API_TOKEN} $SECRET_KEY');
    expect(v).toBe(`postgresql://app:${secretMark('DB_PASSWORD')}@db/app ${secretMark('API_TOKEN')} ${secretMark('SECRET_KEY')}`);
    expect(secretsIn(v)).toEqual(['DB_PASSWORD', 'API_TOKEN', 'SECRET_KEY']);
    expect(run('${CERT_FILE:-/run/cert}')).toBe('/run/cert');
  });
});

describe('parseDotenv', () => {
  it('reads compose env files', () => {
    const text = [
      '# comment',
      'export A=1',
      'B = two words # comment',
      "C='${NAME} literal'",
      'D="line\\nbreak ${NAME}"',
      'E=${NAME}-${A}',
      'F',
      'PORT',
      'G="multi',
      'line"',
      '',
    ].join('\n');
    expect(parseDotenv(text, { lookup: (n) => vars[n] })).toEqual({ A: '1', B: 'two words', C: '${NAME} literal', D: 'line\nbreak shop', E: 'shop-1', PORT: '8000', G: 'multi\nline' });
  });

  it('names the line it cannot read', () => {
    expect(() => parseDotenv('A=1\nnot a variable\n', { lookup: () => undefined })).toThrow('cannot read line 2');
  });
});

describe('shellSplit', () => {
  it('splits commands like compose does', () => {
    expect(shellSplit(`gunicorn -b 0.0.0.0:8000 "app:create_app()" --name 'my app' a\\ b`)).toEqual(['gunicorn', '-b', '0.0.0.0:8000', 'app:create_app()', '--name', 'my app', 'a b']);
    expect(shellSplit('  ')).toEqual([]);
  });
});
