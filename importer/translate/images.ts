/** Image references: kept as compose runs them; prod needs them pinned (model/readiness.ts). */
import { image as imageField, pinnedImage } from '../../model/fields';
import type { Context, Keys } from './context';

/** Versions used when a well-known image has no tag, so the spec stays reproducible. */
export const KNOWN_TAGS: Record<string, string> = {
  mysql: '8.4',
  mariadb: '11.4',
  mongo: '7.0',
  nginx: '1.27',
  traefik: 'v3.2',
};

/**
 * The image of an application or server. A service built by compose gets `<name>:dev` (the user
 * builds and loads it); a well-known image without a tag gets `fallback`; any other image is kept
 * as compose runs it, with a warning when it has no pinned tag (prod refuses it until it is pinned).
 * `built`: the spec's `build` holds the build, so it is not reported as left out.
 */
export function imageOf(ctx: Context, keys: Keys, component: string, fallback?: string, built = false): string | undefined {
  const image = keys.take<string>('image');
  const build = keys.take('build');
  let ref = image === undefined ? undefined : usable(keys, image);
  if (!ref) {
    if (!build) keys.fail('image', 'has neither image nor build; stackport needs an image to run');
    ref = `${ctx.project.name}-${component}:dev`;
    if (!built) keys.warn('build', `not built here: build it as ${ref} (docker build -t ${ref} ...) and load it into the cluster (kind load docker-image ${ref})`);
  } else if (build) {
    if (!pinnedImage(ref)) ref = `${ref.replace(/:latest$/, '')}:dev`;
    if (!built) keys.warn('build', `not built here: build it as ${ref} and push it, or load it into the cluster (kind load docker-image ${ref})`);
  } else if (!pinnedImage(ref)) {
    if (fallback !== undefined) {
      keys.warn('image', `"${ref}" has no pinned tag; using ${fallback || 'the spec default'}`);
      return fallback || undefined;
    }
    keys.warn('image', `"${ref}" has no pinned tag: kept as written for kind and k3d; prod needs a version such as "${ref.replace(/:latest$/, '')}:1.2.3" (latest changes under you)`);
  }
  return ref;
}

/**
 * A reference the spec can hold. Compose takes any string and fails only when pulling; a tag that
 * is not a tag (a documentation placeholder such as ":|version|") is dropped with a warning, and a
 * name that cannot be pulled at all stops the import with the field named.
 */
function usable(keys: Keys, written: string): string {
  const ref = written.trim();
  if (imageField.safeParse(ref).success) return ref;
  const m = /^(.*?)(:[^/:]*)$/.exec(ref);
  const name = m && !m[1].endsWith('/') ? m[1] : undefined;
  if (name && imageField.safeParse(name).success) {
    keys.warn('image', `"${written}": "${m![2].slice(1)}" is not an image tag (a placeholder?); kept "${name}" without a tag: set the version you run`);
    return name;
  }
  return keys.fail('image', `"${written}" is not a container image reference such as "postgres:16.4" or "ghcr.io/acme/api:1.2.0"`);
}
