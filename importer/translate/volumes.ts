/**
 * Volumes, tmpfs, compose configs and file secrets of a service. Named volumes become shared
 * PersistentVolumeClaims (or claim templates for stateful servers); bind-mounted config files and
 * compose configs become files from a ConfigMap; file secrets become Secret keys mounted as files;
 * tmpfs and anonymous volumes become writable emptyDirs. Source code mounts are refused with a
 * warning: in Kubernetes the code belongs in the image; into a service compose builds, they were
 * there for hot reload and become sync rules of its build (`stackport dev`). Host files outside the project folder are
 * never read: each such mount is left out with a warning saying how to bring the file in.
 */
import { basename, posix, relative, resolve as resolvePath } from 'node:path';
import type { Mount } from '../load/normalize';
import { outsideProject } from '../load/project-folder';
import { inside } from './build';
import { buildContext } from './build-context';
import { kebab, type Context, type Keys } from './context';

type Obj = Record<string, any>;

export interface Mounts {
  volumes: { volume: string; path: string; readOnly?: boolean }[];
  files: Record<string, string>;
  secretFiles: Record<string, string>;
  writablePaths: string[];
  data: { name: string; path: string; storage?: string }[];
  /** Source mounts to live-update instead (absolute host path -> container path). */
  sync: { source: string; target: string }[];
}

/** Source files and project manifests: a folder holding one is code, not configuration. */
export const CODE = /\.(py|js|mjs|ts|tsx|go|rb|php|java|rs|ipynb)$|^(package\.json|requirements.*\.txt|pyproject\.toml|Dockerfile|go\.mod|Gemfile|manage\.py|\.git|(docker-)?compose.*\.ya?ml)$/;
/** Files that hold secrets: they never go into a ConfigMap. */
const SECRET_FILE = /^\.env|\.env$|\.(pem|key|p12|pfx|jks|keystore)$|^id_(rsa|ed25519|ecdsa)|secret|passw|token|credential/i;
/** Folders mounted as configuration (anything else is data or code). */
const CONFIG_TARGET = /^\/etc\/|conf|config|settings|templates|provisioning|dashboards|rules|html|static|\.streamlit/i;
const BRING_MOUNT_IN = 'If the container needs it, copy it into the project folder and mount it from there, or add it yourself to files (a ConfigMap) or secretFiles (a Secret) in stack.yaml.';

/**
 * Warns and returns true for a bind mount whose source lies outside the project folder (as
 * written, or through a symlink); such a source is never opened.
 */
export function outsideMount(ctx: Context, keys: Keys, m: Mount): boolean {
  if (m.type !== 'bind' || !m.source) return false;
  const access = ctx.project.folder.check(m.source);
  if (access.ok || access.why !== 'outside') return false;
  keys.warn(`volumes.${m.target}`, outsideProject(m.written ?? m.source, BRING_MOUNT_IN));
  return true;
}

/** Size of a volume from Kompose's label on the service or on the top-level volume, as a Kubernetes quantity. */
function sizeOf(ctx: Context, keys: Keys, volume?: string): string | undefined {
  const onService = keys.config.labels?.['kompose.volume.size'];
  const raw = onService ?? (volume ? ctx.project.volumes[volume]?.labels?.['kompose.volume.size'] : undefined);
  if (raw === undefined) return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*(?:([KMGT])i?[bB]?)?$/i.exec(String(raw).trim());
  if (!m) keys.fail(onService !== undefined ? 'labels.kompose.volume.size' : 'volumes', `kompose.volume.size "${raw}" is not a size such as "1Gi" or "500Mi"`);
  return m[2] ? `${m[1]}${m[2].toUpperCase()}i` : m[1];
}

/**
 * `claims`: named volumes become the server's own claim templates (stateful servers).
 * `skip`: mount targets another translation reads (init scripts, proxy and Prometheus config).
 * `buildContext`: the folder the service's image is built from; source mounts inside it are synced.
 */
export function translateMounts(ctx: Context, keys: Keys, opts: { claims?: boolean; skip?: (m: Mount) => boolean; buildContext?: string } = {}): Mounts {
  const out: Mounts = { volumes: [], files: {}, secretFiles: {}, writablePaths: [], data: [], sync: [] };
  const where = (m: Mount) => `volumes.${m.target}`;
  /** A mount of source code: synced when the service builds from a folder holding it, else refused. */
  const code = (m: Mount, what: string) => {
    if (opts.buildContext && inside(opts.buildContext, m.source!)) out.sync.push({ source: m.source!, target: m.target });
    else keys.warn(where(m), `bind mount of ${what}; left out: build the code into the image${opts.buildContext ? ' (it is outside the build context, so it cannot be synced)' : ''}`);
  };
  for (const m of (keys.take<Mount[]>('volumes') ?? [])) {
    if (opts.skip?.(m)) continue;
    if (m.type === 'tmpfs' || (m.type === 'volume' && !m.source)) {
      out.writablePaths.push(m.target);
      continue;
    }
    if (m.type === 'volume') {
      const name = kebab(m.source!);
      if (opts.claims) out.data.push({ name, path: m.target, ...(sizeOf(ctx, keys, m.source) ? { storage: sizeOf(ctx, keys, m.source) } : {}) });
      else {
        const storage = sizeOf(ctx, keys, m.source);
        ctx.volumes[name] = { ...ctx.volumes[name], ...(storage ? { storage } : {}) };
        out.volumes.push({ volume: name, path: m.target, ...(m.read_only ? { readOnly: true } : {}) });
      }
      continue;
    }
    if (m.type !== 'bind' || !m.source) {
      keys.warn(where(m), `a ${m.type} mount is not translated`);
      continue;
    }
    const shown = m.written ?? relative(ctx.project.dir, m.source);
    const folder = ctx.project.folder;
    if (/docker\.sock$/.test(m.source)) {
      keys.warn(where(m), 'the Docker socket does not exist in Kubernetes; left out');
      continue;
    }
    if (outsideMount(ctx, keys, m)) continue;
    const kind = folder.kind(m.source);
    if (!kind) {
      keys.warn(where(m), `bind mount source ${shown} not found; left out`);
      continue;
    }
    if (ctx.project.files.some((f) => resolvePath(f).startsWith(`${m.source!.replace(/\/$/, '')}/`))) {
      code(m, `the project folder (${shown})`);
      continue;
    }
    if (kind === 'file' && opts.buildContext && CODE.test(basename(m.source))) {
      code(m, `source code (${shown})`);
      continue;
    }
    if (kind === 'file') {
      if (SECRET_FILE.test(basename(m.source))) {
        out.secretFiles[m.target] = ctx.provide(basename(m.source), `the file ${shown}`);
        continue;
      }
      const text = folder.readText(m.source);
      if (text === undefined) keys.warn(where(m), `${shown} is not a small text file; left out (bake it into the image)`);
      else out.files[m.target] = text;
      continue;
    }
    const { files, outside } = folder.list(m.source);
    if (outside.length > 0) {
      keys.warn(where(m), outsideProject(`${shown}/${relative(m.source, outside[0])} (a link in the mounted folder)`, BRING_MOUNT_IN));
      continue;
    }
    if (files.some((f) => CODE.test(basename(f)))) {
      code(m, `source code (${shown})`);
      continue;
    }
    const texts = files.map((f) => [f, folder.readText(f)] as const);
    const config = CONFIG_TARGET.test(m.target) && !files.some((f) => SECRET_FILE.test(basename(f)));
    if (config && files.length > 0 && files.length <= 20 && texts.every(([, t]) => t !== undefined)) {
      for (const [f, t] of texts) out.files[`${m.target.replace(/\/$/, '')}/${relative(m.source, f)}`] = t!;
      continue;
    }
    // Data or models the image already holds (COPY in its Dockerfile): an empty volume would hide them.
    const baked = bakedBy(ctx, keys, m);
    if (baked) {
      ctx.note(keys.service.name, `${shown} is in the image already (Dockerfile: ${baked}); not mounted, so the app reads the image's copy`);
      continue;
    }
    // A data directory: give it a volume of its own; the files on the host are not copied.
    const name = kebab(basename(m.source)) || 'data';
    ctx.volumes[name] ??= {};
    out.volumes.push({ volume: name, path: m.target, ...(m.read_only ? { readOnly: true } : {}) });
    keys.warn(
      where(m),
      `host directory ${shown} becomes the volume "${name}", which starts empty (the files are not copied): bake them into the image (COPY ${shown.replace(/^\.\//, '')} ${m.target} in its Dockerfile), or set volumes.${name}.seed to an image holding them (every pod copies them in before it starts)`,
    );
  }
  for (const t of [keys.take<string[]>('tmpfs') ?? []].flat()) out.writablePaths.push(String(t).split(':')[0]);
  keys.take('read_only');
  for (const s of keys.take<Obj[]>('secrets') ?? []) {
    const def = ctx.project.secrets[s.source] ?? {};
    const target = s.target ? (String(s.target).startsWith('/') ? s.target : `/run/secrets/${s.target}`) : `/run/secrets/${s.source}`;
    const away = def.file !== undefined && isOutside(ctx, def.file);
    if (away) keys.warn(`secrets.${s.source}`, outsideProject(def.file, 'The service still mounts the Secret key: create it yourself with the value the service needs.', 'not read'));
    const from = def.environment ? `compose secret ${s.source} (variable ${def.environment})` : def.file && !away ? `compose secret ${s.source} (file ${def.file})` : `compose secret ${s.source}`;
    const managed = ctx.managedSecrets.get(`secret:${s.source}`);
    out.secretFiles[target] = managed ? `${managed.secret}/${managed.key}` : ctx.provide(s.source, from);
  }
  for (const c of keys.take<Obj[]>('configs') ?? []) {
    const def = ctx.project.configs[c.source] ?? {};
    const target = c.target ?? `/${c.source}`;
    if (def.content === undefined && def.file !== undefined && isOutside(ctx, def.file)) {
      keys.warn(`configs.${c.source}`, outsideProject(def.file, 'Copy it into the project folder, or add its content yourself to files in stack.yaml.'));
      continue;
    }
    const text = def.content ?? (def.file ? ctx.project.folder.readText(resolvePath(ctx.project.dir, def.file)) : undefined);
    if (text === undefined) keys.warn(`configs.${c.source}`, def.external ? 'external config: create its content as a file in the spec' : 'config content not found; left out');
    // Content that interpolates secret variables is itself a secret.
    else if (/\u0001/.test(String(text))) out.secretFiles[target] = ctx.provide(c.source, `config ${c.source}, whose content uses secret variables`);
    else out.files[target] = String(text);
  }
  return out;
}

/** The Dockerfile instruction that copies a mounted host folder to the same path in the image, if any. */
function bakedBy(ctx: Context, keys: Keys, m: Mount): string | undefined {
  for (const c of buildContext(ctx.project.folder, keys.service)?.copies ?? []) {
    if (m.source !== c.source && !m.source!.startsWith(`${c.source}/`)) continue;
    if (posix.join(c.dest, relative(c.source, m.source!)) === m.target) return `COPY ${relative(ctx.project.dir, c.source) || '.'} ${c.dest}`;
  }
  return undefined;
}

function isOutside(ctx: Context, file: string): boolean {
  const access = ctx.project.folder.check(resolvePath(ctx.project.dir, file));
  return !access.ok && access.why === 'outside';
}
