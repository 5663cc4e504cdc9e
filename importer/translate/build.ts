/**
 * Compose `build:` of an application service -> the spec's `build`, which `stackport dev` hands to
 * Tilt or Skaffold. Paths in the spec are relative to the folder stack.yaml is written to. A build
 * that would read outside the project folder stops the import: the development loop would send
 * that folder to the image build, and the compose file may be someone else's.
 */
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { SECRET_LOOKING } from '../../model/fields';
import { outsideProject } from '../load/project-folder';
import type { Context, Keys } from './context';

type Obj = Record<string, any>;

export interface BuildSource {
  /** The spec's `build`, without `sync` (the caller adds what mounts and compose watch give). */
  readonly spec: Obj;
  /** The context folder, absolute: synced sources must lie inside it. */
  readonly dir: string;
}

const TRANSLATED = new Set(['context', 'dockerfile', 'target', 'args']);
const STAGE = /^[A-Za-z0-9][-A-Za-z0-9_.]*$/;
const REMOTE = /^[a-z][a-z0-9+.-]*:\/\/|^git@|\.git(#.*)?$/i;

/** A path as the spec holds it: relative to stack.yaml's folder, "/" between folders. */
export function specPath(ctx: Context, abs: string): string {
  return relative(resolve(ctx.options.out ?? '.'), abs).split(sep).join('/') || '.';
}

export function inside(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r === '' || (r !== '..' && !r.startsWith(`..${sep}`) && !isAbsolute(r));
}

/** The service's build, or undefined (none, or one the development loop cannot run, with a warning). */
export function translateBuild(ctx: Context, keys: Keys): BuildSource | undefined {
  const raw = keys.config.build;
  if (raw === undefined || raw === null) return undefined;
  const b: Obj = typeof raw === 'string' ? { context: raw } : raw;
  const written = String(b.context ?? '.');
  if (REMOTE.test(written)) {
    keys.warn('build.context', `${written} is a remote build context; stackport dev builds from a folder: clone it into the project folder and point build.context there`);
    return undefined;
  }
  if (b.dockerfile_inline !== undefined) {
    keys.warn('build.dockerfile_inline', 'an inline Dockerfile is not in the spec: write it to a Dockerfile in the build context and name it in build.dockerfile');
    return undefined;
  }
  const dir = resolve(dirname(keys.service.file), written);
  const key = typeof raw === 'string' ? 'build' : 'build.context';
  if (outside(ctx, dir)) keys.fail(key, outsideProject(written, 'Move the build into the project folder, or give a --project-directory that holds it.', 'stackport dev would send it to the image build, so nothing was imported'));
  if (!ctx.project.folder.kind(dir)) keys.warn(key, `build context ${written} not found in the project folder; kept as written`);
  const spec: Obj = { context: specPath(ctx, dir) };
  if (b.dockerfile !== undefined) {
    const file = resolve(dir, String(b.dockerfile));
    if (outside(ctx, file)) keys.fail('build.dockerfile', outsideProject(String(b.dockerfile), 'Move the Dockerfile into the project folder.', 'stackport dev would read it, so nothing was imported'));
    spec.dockerfile = relative(dir, file).split(sep).join('/');
  }
  if (b.target !== undefined) {
    if (STAGE.test(String(b.target))) spec.target = String(b.target);
    else keys.warn('build.target', `"${b.target}" is not a build stage name; left out: the last stage is built`);
  }
  const args = buildArgs(keys, b.args);
  if (Object.keys(args).length > 0) spec.args = args;
  for (const k of Object.keys(b)) if (!TRANSLATED.has(k)) keys.warn(`build.${k}`, 'not in the spec: stackport dev builds with context, dockerfile, target and args');
  return { spec, dir };
}

function outside(ctx: Context, path: string): boolean {
  const access = ctx.project.folder.check(path);
  return !access.ok && access.why === 'outside';
}

/** Compose build args (a map, or a list of NAME=value), without the ones a spec must not hold. */
function buildArgs(keys: Keys, raw: unknown): Record<string, string> {
  const entries: [string, unknown][] = Array.isArray(raw)
    ? raw.map((e) => String(e)).map((e) => (e.includes('=') ? [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] : [e, null]))
    : Object.entries((raw as Obj | undefined) ?? {});
  const out: Record<string, string> = {};
  for (const [name, value] of entries) {
    const where = `build.args.${name}`;
    if (value === null || value === undefined) keys.warn(where, 'takes its value from the shell running compose; left out: set it in build.args');
    else if (SECRET_LOOKING.test(name) || /\u0001/.test(String(value))) keys.warn(where, 'looks like a secret; left out: build arguments stay readable in the image history, so pass it as a build secret');
    else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) keys.warn(where, 'is not a build argument name (letters, digits, "_"); left out');
    else out[name] = String(value);
  }
  return out;
}

/** Compose watch rules that copy files into the container (`action: sync...`): sync rules of the build. */
export function watchSyncs(keys: Keys, build: BuildSource): { source: string; target: string }[] {
  const watch: Obj[] = keys.take<Obj>('develop')?.watch ?? [];
  const out: { source: string; target: string }[] = [];
  watch.forEach((w, i) => {
    const where = `develop.watch[${i}]`;
    if (!String(w.action).startsWith('sync')) return; // rebuild: any change in the context rebuilds anyway
    const source = resolve(dirname(keys.service.file), String(w.path));
    if (!w.target || !inside(build.dir, source)) keys.warn(where, `${w.path} is not synced: ${w.target ? 'it is outside the build context' : 'it has no target'}`);
    else out.push({ source, target: String(w.target) });
    if (w.ignore !== undefined) keys.warn(`${where}.ignore`, 'not in the spec: every file under the path is synced');
  });
  return out;
}
