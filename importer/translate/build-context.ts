/**
 * What a service's build context says about it: the image its Dockerfile starts from (the last
 * stage, or the stage `build.target` names) and the files it copies into the image, read from the
 * context folder. Only files inside the context are read, by their exact names: nothing is walked.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { ComposeService } from '../load/model';

export interface BuildContext {
  /** The base image of the stage that is built ("nginx:1.13-alpine"), if the Dockerfile names one. */
  readonly from?: string;
  /** Destination path in the image -> text of each file copied from the context there. */
  readonly copied: ReadonlyMap<string, string>;
}

const MAX_BYTES = 256 * 1024;

export function buildContext(s: ComposeService): BuildContext | undefined {
  const b = s.config.build;
  if (!b) return undefined;
  const contextDir = resolve(dirname(s.file), typeof b === 'string' ? b : b.context ?? '.');
  if (typeof b === 'object' && b.dockerfile_inline) return parse(String(b.dockerfile_inline), contextDir, b.target);
  const dockerfile = resolve(contextDir, typeof b === 'object' && b.dockerfile ? b.dockerfile : 'Dockerfile');
  const text = readInside(contextDir, dockerfile);
  return text === undefined ? undefined : parse(text, contextDir, typeof b === 'object' ? b.target : undefined);
}

function parse(text: string, contextDir: string, target?: string): BuildContext {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: { from: string; name?: string; copies: [string, string][] }[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [instr, rest] = [m[1].toUpperCase(), m[2]];
    if (instr === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+as\s+(\S+))?/i.exec(rest);
      if (f) stages.push({ from: f[1], name: f[2]?.toLowerCase(), copies: [] });
    } else if ((instr === 'COPY' || instr === 'ADD') && stages.length > 0 && !/--from=/.test(rest)) {
      const words = rest.split(/\s+/).filter((w) => !w.startsWith('--'));
      if (words.length >= 2) for (const src of words.slice(0, -1)) stages[stages.length - 1].copies.push([src, words[words.length - 1]]);
    }
  }
  const stage = (target && stages.find((st) => st.name === target.toLowerCase())) || stages[stages.length - 1];
  const copied = new Map<string, string>();
  if (!stage) return { copied };
  // A stage built FROM an earlier one inherits what that one copied.
  const chain: typeof stages = [];
  for (let st: (typeof stages)[number] | undefined = stage; st && !chain.includes(st); st = stages.find((o) => o.name === st!.from.toLowerCase())) chain.unshift(st);
  for (const st of chain) {
    for (const [src, dest] of st.copies) {
      const from = resolve(contextDir, src);
      if (!existsSync(from) || !inside(contextDir, from)) continue;
      if (statSync(from).isFile()) {
        const t = readInside(contextDir, from);
        if (t !== undefined) copied.set(dest.endsWith('/') ? `${dest}${from.split(sep).pop()}` : dest, t);
      } else if (statSync(from).isDirectory()) {
        // One level of configuration files, as nginx's conf.d holds them.
        for (const f of readdirSync(from).sort()) {
          const t = /\.(conf|template|ya?ml|json|ini|toml)$/.test(f) ? readInside(contextDir, join(from, f)) : undefined;
          if (t !== undefined) copied.set(`${dest.replace(/\/$/, '')}/${f}`, t);
        }
      }
    }
  }
  return { from: chain[0]?.from, copied };
}

function inside(dir: string, file: string): boolean {
  return file === dir || file.startsWith(`${dir}${sep}`);
}

function readInside(dir: string, file: string): string | undefined {
  if (!inside(dir, file) || !existsSync(file)) return undefined;
  const st = statSync(file);
  if (!st.isFile() || st.size > MAX_BYTES) return undefined;
  return readFileSync(file, 'utf8');
}
