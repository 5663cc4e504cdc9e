/**
 * `.env` and `env_file` files in compose's format: `KEY=value` lines, optional `export `, `#`
 * comments, single quotes taken literally, double quotes with `\n`-style escapes, unquoted values
 * ending at ` #`, and `${VAR}` interpolation in unquoted and double-quoted values (earlier keys of
 * the same file count). A bare `KEY` takes its value from the environment, or is skipped.
 */
import { interpolate, InterpolationError, type Interpolation } from './interpolate';

export class DotenvError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

export function parseDotenv(text: string, ctx: Interpolation): Record<string, string> {
  const out: Record<string, string> = {};
  const local: Interpolation = { lookup: (n) => (n in out ? out[n] : ctx.lookup(n)), onUnset: ctx.onUnset };
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/^\s+/, '');
    if (raw === '' || raw.startsWith('#')) continue;
    const line = raw.replace(/^export\s+/, '');
    const m = /^([A-Za-z_][A-Za-z0-9_.-]*)\s*(=\s*([\s\S]*))?$/.exec(line);
    if (!m) throw new DotenvError(i + 1, `cannot read line ${i + 1}: expected KEY=value`);
    const key = m[1];
    if (m[2] === undefined) {
      const v = ctx.lookup(key);
      if (v !== undefined) out[key] = v;
      continue;
    }
    let rest = m[3];
    try {
      if (rest.startsWith("'")) {
        const end = rest.indexOf("'", 1);
        if (end < 0) throw new DotenvError(i + 1, `line ${i + 1}: unterminated single quote`);
        out[key] = rest.slice(1, end);
      } else if (rest.startsWith('"')) {
        // A double-quoted value may span lines.
        let body = '';
        let j = 1;
        for (;;) {
          if (j >= rest.length) {
            if (i + 1 >= lines.length) throw new DotenvError(i + 1, `line ${i + 1}: unterminated double quote`);
            rest += `\n${lines[++i]}`;
            continue;
          }
          const ch = rest[j];
          if (ch === '\\' && j + 1 < rest.length) {
            const e = rest[j + 1];
            body += e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === '$' ? '$$' : e;
            j += 2;
          } else if (ch === '"') break;
          else {
            body += ch;
            j++;
          }
        }
        out[key] = interpolate(body, local);
      } else {
        out[key] = interpolate(rest.replace(/\s+#.*$/, '').trim(), local);
      }
    } catch (e) {
      if (e instanceof InterpolationError) throw new DotenvError(i + 1, `line ${i + 1} (${key}): ${e.message}`);
      throw e;
    }
  }
  return out;
}
