/**
 * The compose project folder: the only place the importer reads files from on its own. A compose
 * file may be someone else's (a cloned repository, a template), and what the importer reads can
 * end up in stack.yaml and from there in a cluster, so a path that is absolute, climbs out with
 * `..`, or leaves through a symlink is never opened, whatever it names. Files the user names on
 * the command line (-f, --env-file) are read where they are: that choice is the user's.
 */
import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';

/** Configuration files above this size are not read (a ConfigMap holds 1 MiB in all). */
export const MAX_TEXT_FILE = 256 * 1024;

export type Access = { readonly ok: true; readonly real: string } | { readonly ok: false; readonly why: 'outside' | 'missing' };

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function within(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith(`..${sep}`) && r !== '..' && !r.startsWith(sep));
}

export class ProjectFolder {
  /** The folder, absolute. */
  readonly dir: string;
  private readonly real: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    // A folder that does not exist holds nothing; the missing compose file is reported by its reader.
    this.real = realpathOr(this.dir);
  }

  /**
   * Whether `path` (relative to the folder, or absolute) really lies inside it, symlinks followed.
   * A path that is outside as written is judged without touching the disk.
   */
  check(path: string): Access {
    const p = resolve(this.dir, path);
    if (!within(this.dir, p) && !within(this.real, p)) return { ok: false, why: 'outside' };
    let real: string;
    try {
      real = realpathSync(p);
    } catch {
      return { ok: false, why: 'missing' };
    }
    return within(this.real, real) ? { ok: true, real } : { ok: false, why: 'outside' };
  }

  /** "file", "dir", or undefined when it is missing, outside or something else. */
  kind(path: string): 'file' | 'dir' | undefined {
    const a = this.check(path);
    if (!a.ok) return undefined;
    try {
      const st = statSync(a.real);
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : undefined;
    } catch {
      return undefined;
    }
  }

  /** A text file inside the folder, at most `max` bytes and without NUL bytes; else undefined. */
  readText(path: string, max = MAX_TEXT_FILE): string | undefined {
    const a = this.check(path);
    if (!a.ok) return undefined;
    try {
      const st = statSync(a.real);
      if (!st.isFile() || st.size > max) return undefined;
      // The real path, so a link swapped after the check is not followed again.
      const text = readFileSync(a.real, 'utf8');
      return text.includes('\u0000') ? undefined : text;
    } catch {
      return undefined;
    }
  }

  /**
   * Files under a folder inside the project, `depth` levels deep at most, with the entries that
   * lead out of the project (symlinks) listed apart and never followed.
   */
  list(path: string, depth = 3): { files: string[]; outside: string[] } {
    const out = { files: [] as string[], outside: [] as string[] };
    const walk = (dir: string, level: number) => {
      if (level > depth) return;
      let names: string[];
      try {
        names = readdirSync(dir).sort();
      } catch {
        return;
      }
      for (const name of names) {
        const entry = join(dir, name);
        const a = this.check(entry);
        if (!a.ok) {
          if (a.why === 'outside') out.outside.push(entry);
          continue;
        }
        if (this.kind(entry) === 'dir') walk(entry, level + 1);
        else out.files.push(entry);
      }
    };
    if (this.kind(path) === 'dir') walk(resolve(this.dir, path), 0);
    return out;
  }

  /** A path for messages: relative to the folder when inside it. */
  shown(path: string): string {
    const p = resolve(this.dir, path);
    return within(this.dir, p) ? relative(this.dir, p) || '.' : p;
  }
}

/** Why a file outside the project was left out, and how to bring it in. */
export function outsideProject(written: string, bringIn: string, done = 'not read, left out'): string {
  return `${written} is outside the project folder (the first compose file's folder, or --project-directory): ${done}. ${bringIn}`;
}
