/**
 * Compose variable interpolation (the Compose specification, as compose-go implements it):
 * `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`,
 * `${VAR:+alt}`, `${VAR+alt}`, nested defaults, and `$$` for a literal `$`.
 *
 * A variable whose name looks like a secret is never resolved: it becomes a marker that the
 * translator turns into a Secret reference, so importing needs no secret value and none can leak
 * into the spec. A required (`?`) secret variable that is unset is therefore not an error.
 */
import { SECRET_LOOKING } from '../../model/fields';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const MARK_OPEN = '\u0001';
const MARK_CLOSE = '\u0002';
/** Matches the marker left where a secret variable was referenced; group 1 is its name. */
export const SECRET_MARK = /\u0001([A-Za-z_][A-Za-z0-9_]*)\u0002/g;

export function secretMark(name: string): string {
  return `${MARK_OPEN}${name}${MARK_CLOSE}`;
}

/** Secret-looking, except NAME_FILE, which holds the path of a secret file. */
export function isSecretName(name: string): boolean {
  return SECRET_LOOKING.test(name) && !name.endsWith('_FILE');
}

/** The secret variables a value refers to, in order. */
export function secretsIn(value: string): string[] {
  return [...value.matchAll(SECRET_MARK)].map((m) => m[1]);
}

export interface Interpolation {
  /** Variables for interpolation: the process environment over the .env / --env-file values. */
  readonly lookup: (name: string) => string | undefined;
  /** Called for a non-secret variable that is unset and has no default (compose substitutes ""). */
  readonly onUnset?: (name: string) => void;
}

/** Thrown for a malformed template or a missing required variable; the caller adds file and key. */
export class InterpolationError extends Error {}

export function interpolate(text: string, ctx: Interpolation): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '{') {
      let depth = 1;
      let j = i + 2;
      for (; j < text.length && depth > 0; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}') depth--;
      }
      if (depth > 0) throw new InterpolationError(`invalid interpolation "${text.slice(i)}": missing "}"`);
      const body = text.slice(i + 2, j - 1);
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
      if (!m) throw new InterpolationError(`invalid interpolation "\${${body}}": expected \${NAME}, \${NAME:-default} or \${NAME:?message}`);
      out += resolve(m[1], m[2], m[3] ?? '', ctx);
      i = j;
    } else {
      const m = NAME.exec(text.slice(i + 1));
      if (m) {
        out += resolve(m[0], undefined, '', ctx);
        i += 1 + m[0].length;
      } else {
        out += '$';
        i++;
      }
    }
  }
  return out;
}

function resolve(name: string, op: string | undefined, arg: string, ctx: Interpolation): string {
  if (isSecretName(name)) return secretMark(name);
  const value = ctx.lookup(name);
  const set = value !== undefined;
  const nonEmpty = set && value !== '';
  switch (op) {
    case undefined:
      if (!set) ctx.onUnset?.(name);
      return value ?? '';
    case ':-':
      return nonEmpty ? value : interpolate(arg, ctx);
    case '-':
      return set ? value : interpolate(arg, ctx);
    case ':?':
    case '?':
      if (op === ':?' ? nonEmpty : set) return value!;
      throw new InterpolationError(`required variable ${name} is ${set ? 'empty' : 'missing a value'}${arg ? `: ${interpolate(arg, ctx)}` : ''}`);
    case ':+':
      return nonEmpty ? interpolate(arg, ctx) : '';
    default:
      return set ? interpolate(arg, ctx) : '';
  }
}

type KeyPath = (string | number)[];

/** Interpolates every string value (not key) of parsed YAML; the callbacks get the key path. */
export function interpolateTree(
  value: unknown,
  lookup: Interpolation['lookup'],
  onError: (path: KeyPath, message: string) => never,
  onUnset: (path: KeyPath, name: string) => void,
  path: KeyPath = [],
): unknown {
  if (typeof value === 'string') {
    try {
      return interpolate(value, { lookup, onUnset: (n) => onUnset(path, n) });
    } catch (e) {
      if (e instanceof InterpolationError) onError(path, e.message);
      throw e;
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, lookup, onError, onUnset, [...path, i]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateTree(v, lookup, onError, onUnset, [...path, k]);
    return out;
  }
  return value;
}
