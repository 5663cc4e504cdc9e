/**
 * What a service's build context says about it: the image its Dockerfile starts from (the last
 * stage, or the stage `build.target` names) and the files it copies into the image, read from the
 * context folder. Only files inside both the context and the project folder are read, through the
 * project folder's checks, by their exact names (and one level of a copied configuration folder).
 */
import { basename, dirname, posix, relative, resolve, sep } from 'node:path';
import type { ComposeService } from '../load/model';
import { MAX_TEXT_FILE, type ProjectFolder } from '../load/project-folder';

export interface BuildContext {
  /** The base image of the stage that is built ("nginx:1.13-alpine"), if the Dockerfile names one. */
  readonly from?: string;
  /** Destination path in the image -> text of each file copied from the context there. */
  readonly copied: ReadonlyMap<string, string>;
  /** Every COPY/ADD from the context: the absolute source path and the absolute path in the image. */
  readonly copies: readonly { source: string; dest: string }[];
}

export function buildContext(folder: ProjectFolder, s: ComposeService): BuildContext | undefined {
  const b = s.config.build;
  if (!b) return undefined;
  const contextDir = resolve(dirname(s.file), typeof b === 'string' ? b : b.context ?? '.');
  const reader = new ContextReader(folder, contextDir);
  if (typeof b === 'object' && b.dockerfile_inline) return parse(String(b.dockerfile_inline), reader, b.target);
  const text = reader.read(resolve(contextDir, typeof b === 'object' && b.dockerfile ? b.dockerfile : 'Dockerfile'));
  return text === undefined ? undefined : parse(text, reader, typeof b === 'object' ? b.target : undefined);
}

/** Reads files that are inside the build context and the project folder; anything else is undefined. */
class ContextReader {
  constructor(
    private readonly folder: ProjectFolder,
    readonly dir: string,
  ) {}

  private inside(file: string): boolean {
    const r = relative(this.dir, file);
    return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !r.startsWith(sep));
  }

  kind(file: string): 'file' | 'dir' | undefined {
    return this.inside(file) ? this.folder.kind(file) : undefined;
  }

  read(file: string): string | undefined {
    return this.inside(file) ? this.folder.readText(file, MAX_TEXT_FILE) : undefined;
  }

  /** The files directly in a folder of the context. */
  files(dir: string): string[] {
    return this.kind(dir) === 'dir' ? this.folder.list(dir, 0).files.filter((f) => dirname(f) === resolve(dir)) : [];
  }
}

function parse(text: string, reader: ContextReader, target?: string): BuildContext {
  const lines = text.replace(/\\\r?\n/g, ' ').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: { from: string; name?: string; workdir: string; copies: [string, string][] }[] = [];
  for (const line of lines) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [instr, rest] = [m[1].toUpperCase(), m[2]];
    if (instr === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+as\s+(\S+))?/i.exec(rest);
      if (f) stages.push({ from: f[1], name: f[2]?.toLowerCase(), workdir: stages.find((st) => st.name === f[1].toLowerCase())?.workdir ?? '/', copies: [] });
    } else if (instr === 'WORKDIR' && stages.length > 0) {
      const st = stages[stages.length - 1];
      st.workdir = posix.resolve(st.workdir, rest.trim().replace(/^["']|["']$/g, ''));
    } else if ((instr === 'COPY' || instr === 'ADD') && stages.length > 0 && !/--from=/.test(rest)) {
      const words = rest.split(/\s+/).filter((w) => !w.startsWith('--'));
      const st = stages[stages.length - 1];
      // A relative destination is under the WORKDIR in force; "dir/" keeps its meaning (into dir).
      const dest = (d: string) => posix.resolve(st.workdir, d) + (d.endsWith('/') && d !== '/' ? '/' : '');
      if (words.length >= 2) for (const src of words.slice(0, -1)) st.copies.push([src, dest(words[words.length - 1])]);
    }
  }
  const stage = (target && stages.find((st) => st.name === target.toLowerCase())) || stages[stages.length - 1];
  const copied = new Map<string, string>();
  const copies: { source: string; dest: string }[] = [];
  if (!stage) return { copied, copies };
  // A stage built FROM an earlier one inherits what that one copied.
  const chain: typeof stages = [];
  for (let st: (typeof stages)[number] | undefined = stage; st && !chain.includes(st); st = stages.find((o) => o.name === st!.from.toLowerCase())) chain.unshift(st);
  for (const st of chain) {
    for (const [src, dest] of st.copies) {
      const from = resolve(reader.dir, src);
      copies.push({ source: from, dest: dest.replace(/(.)\/$/, '$1') });
      const kind = reader.kind(from);
      if (kind === 'file') {
        const t = reader.read(from);
        if (t !== undefined) copied.set(dest.endsWith('/') ? `${dest}${basename(from)}` : dest, t);
      } else if (kind === 'dir') {
        // One level of configuration files, as nginx's conf.d holds them.
        for (const f of reader.files(from).sort()) {
          const t = /\.(conf|template|ya?ml|json|ini|toml)$/.test(f) ? reader.read(f) : undefined;
          if (t !== undefined) copied.set(`${dest.replace(/\/$/, '')}/${basename(f)}`, t);
        }
      }
    }
  }
  return { from: chain[0]?.from, copied, copies };
}
