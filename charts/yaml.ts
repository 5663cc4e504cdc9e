/**
 * A small YAML emitter for plain JSON data (what charts render), several times faster than the
 * general-purpose `yaml` stringifier on a cold process, which dominates synth time. It only emits
 * three scalar forms: plain words that cannot be misread, literal blocks for multi-line text, and
 * JSON double-quoted strings (valid YAML) for everything else. test/yaml.test.ts round-trips every
 * synthesized document and a set of awkward strings through the `yaml` parser.
 */

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;

function scalar(value: string | number | boolean | null, indent: string): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (PLAIN.test(value) && !RESERVED.test(value)) return value;
  if (value.includes('\n') && !value.includes('\r') && /^[^\s]/.test(value) && !/[^\n\t\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]/.test(value)) {
    const trailing = /\n+$/.exec(value)?.[0].length ?? 0;
    const chomp = trailing === 0 ? '-' : trailing === 1 ? '' : '+';
    const body = trailing === 0 ? value : value.slice(0, -1);
    return `|${chomp}\n${body.split('\n').map((l) => (l ? `${indent}${l}` : '')).join('\n')}`;
  }
  return JSON.stringify(value);
}

function key(k: string): string {
  return PLAIN.test(k) && !RESERVED.test(k) ? k : JSON.stringify(k);
}

function isCollection(v: unknown): v is object {
  return typeof v === 'object' && v !== null && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
}

function emit(value: unknown, indent: string, out: string[]): void {
  if (Array.isArray(value)) {
    for (const item of value) {
      if (isCollection(item)) {
        const nested: string[] = [];
        emit(item, `${indent}  `, nested);
        // The first line of the nested block moves up beside the dash.
        out.push(`${indent}- ${nested[0].slice(indent.length + 2)}`, ...nested.slice(1));
      } else {
        out.push(`${indent}- ${inline(item, `${indent}  `)}`);
      }
    }
    return;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    if (isCollection(v)) {
      out.push(`${indent}${key(k)}:`);
      emit(v, Array.isArray(v) ? indent : `${indent}  `, out);
    } else {
      out.push(`${indent}${key(k)}: ${inline(v, `${indent}  `)}`);
    }
  }
}

function inline(v: unknown, indent: string): string {
  if (Array.isArray(v)) return '[]';
  if (typeof v === 'object' && v !== null) return '{}';
  return scalar(v as string | number | boolean | null, indent);
}

/** Multi-document YAML for a list of JSON objects. */
export function toYaml(docs: readonly object[]): string {
  return docs
    .map((d) => {
      const out: string[] = [];
      emit(d, '', out);
      return `${out.join('\n')}\n`;
    })
    .join('---\n');
}
