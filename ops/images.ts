/**
 * The images of components the spec builds from source: `docker build` with the component's `build`
 * settings, tagged with the very reference the environment's manifests use, then loaded into the
 * kind or k3d cluster, whose pods (imagePullPolicy IfNotPresent on local presets) then never pull it.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { resolveStack } from '../model/presets';
import type { StackSpec } from '../model/schema';
import type { LocalEnvironment } from './cluster';
import { OpsError } from './exec';
import { runInTerminal } from './terminal';

/** The `build` field of an app component (compose's build: context relative to the spec file's folder). */
export interface BuildSettings {
  readonly context: string;
  /** Relative to the context, as in compose. @default "Dockerfile" */
  readonly dockerfile?: string;
  readonly target?: string;
  readonly args?: Readonly<Record<string, string>>;
}

export interface ImageBuild {
  readonly components: readonly string[];
  readonly image: string;
  readonly context: string;
  readonly dockerfile: string;
  readonly target?: string;
  readonly args: Readonly<Record<string, string>>;
}

export interface ImageOptions {
  /** Named in error messages. @default "the stack spec" */
  readonly specFile?: string;
  readonly log?: (line: string) => void;
}

/** What would be built: one entry per image, for every enabled component with `build`. */
export function planImageBuilds(env: LocalEnvironment, spec: StackSpec, specDir: string, opts: ImageOptions = {}): ImageBuild[] {
  const source = opts.specFile ?? 'the stack spec';
  const resolved = resolveStack(spec, env, opts.specFile);
  const byImage = new Map<string, ImageBuild>();
  for (const [name, component] of Object.entries(spec.components)) {
    // Read defensively until `build` is a field of the schema's app components.
    const build = (component as { build?: unknown }).build;
    if (build === undefined || !resolved.components[name]) continue;
    const field = `components.${name}.build`;
    const b = checkBuild(build, source, field);
    const image = (resolved.components[name] as { image?: string }).image;
    if (!image) throw new OpsError(`${source}: ${field} is set but the component has no image in ${env} to tag the build with (set components.${name}.image)`);
    const context = isAbsolute(b.context) ? b.context : resolve(specDir, b.context);
    if (!existsSync(context) || !statSync(context).isDirectory()) {
      throw new OpsError(`${source}: ${field}.context "${b.context}" is not a folder: ${context} (the context is relative to the spec file's folder, ${specDir})`);
    }
    const dockerfile = join(context, b.dockerfile ?? 'Dockerfile');
    if (!existsSync(dockerfile)) throw new OpsError(`${source}: ${field}${b.dockerfile ? '.dockerfile' : ''}: ${dockerfile} does not exist (the dockerfile is relative to the build context)`);
    const planned: ImageBuild = { components: [name], image, context, dockerfile, target: b.target, args: b.args ?? {} };
    const same = byImage.get(image);
    if (!same) {
      byImage.set(image, planned);
      continue;
    }
    // Two components may run one image (an API and its migration Job); they must build it the same way.
    const key = (x: ImageBuild) => JSON.stringify([x.context, x.dockerfile, x.target, Object.entries(x.args).sort()]);
    if (key(same) !== key(planned)) throw new OpsError(`${source}: ${field} builds ${image} differently from components.${same.components[0]}.build; one image needs one build`);
    byImage.set(image, { ...same, components: [...same.components, name] });
  }
  return [...byImage.values()];
}

function checkBuild(build: unknown, source: string, field: string): BuildSettings {
  const b = build as Partial<BuildSettings> | null;
  if (typeof b !== 'object' || b === null || typeof b.context !== 'string' || b.context === '') {
    throw new OpsError(`${source}: ${field}.context must be the path of the build context (a folder, relative to the spec file)`);
  }
  for (const k of ['dockerfile', 'target'] as const) {
    if (b[k] !== undefined && typeof b[k] !== 'string') throw new OpsError(`${source}: ${field}.${k} must be a string`);
  }
  if (b.args !== undefined && (typeof b.args !== 'object' || Object.values(b.args).some((v) => typeof v !== 'string'))) {
    throw new OpsError(`${source}: ${field}.args must map build argument names to strings`);
  }
  return b as BuildSettings;
}

/** The `docker build` arguments of one image. */
export function dockerBuildArgs(b: ImageBuild): string[] {
  return [
    'build', '-t', b.image, '-f', b.dockerfile,
    ...(b.target ? ['--target', b.target] : []),
    ...Object.entries(b.args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    b.context,
  ];
}

/** The tool and arguments that copy a local image into the cluster's nodes. */
export function loadImageCommand(env: LocalEnvironment, cluster: string, image: string): [string, string[]] {
  return env === 'kind' ? ['kind', ['load', 'docker-image', image, '--name', cluster]] : ['k3d', ['image', 'import', image, '-c', cluster]];
}

/** Builds every planned image, then loads it into `cluster`; returns what was built. */
export function buildAndLoadImages(env: LocalEnvironment, cluster: string, spec: StackSpec, specDir: string, opts: ImageOptions = {}): ImageBuild[] {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const builds = planImageBuilds(env, spec, specDir, opts);
  const policy = resolveStack(spec, env, opts.specFile).imagePullPolicy;
  if (builds.length > 0 && policy === 'Always') {
    log(`images: environments.${env}.imagePullPolicy is Always, so pods pull these images from their registry instead of using the copies loaded here`);
  }
  for (const b of builds) {
    log(`images: building ${b.image} for ${b.components.join(', ')}`);
    runInTerminal('docker', dockerBuildArgs(b), `docker build of ${b.image} (${b.components.map((c) => `components.${c}.build`).join(', ')})`);
    const [tool, args] = loadImageCommand(env, cluster, b.image);
    runInTerminal(tool, args, `loading ${b.image} into ${env} cluster "${cluster}"`);
  }
  return builds;
}
