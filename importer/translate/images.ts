/** Image references: every component needs a pinned tag (the spec refuses `latest`). */
import { image as imageField } from '../../spec/fields';
import type { Context, Keys } from './context';

/** Versions used when a well-known image has no tag, so the spec stays reproducible. */
export const KNOWN_TAGS: Record<string, string> = {
  mysql: '8.4',
  mariadb: '11.4',
  mongo: '7.0',
  nginx: '1.27',
  traefik: 'v3.2',
};

function tagged(ref: string): boolean {
  return /:[\w][\w.-]*$|@sha256:/.test(ref.replace(/^[^/]*:[0-9]+\//, '')) && !/:latest$/.test(ref);
}

/**
 * The image of an application or server. A service built by compose gets `<name>:dev` (the user
 * builds and loads it); a well-known image without a tag gets `fallback`; anything else without a
 * pinned tag stops the import, since `latest` changes under you.
 */
export function imageOf(ctx: Context, keys: Keys, component: string, fallback?: string): string | undefined {
  const image = keys.take<string>('image');
  const build = keys.take('build');
  let ref = image;
  if (!ref) {
    if (!build) keys.fail('image', 'has neither image nor build; stackport needs an image to run');
    ref = `${ctx.project.name}-${component}:dev`;
    keys.warn('build', `not built here: build it as ${ref} (docker build -t ${ref} ...) and load it into the cluster (kind load docker-image ${ref})`);
  } else if (build) {
    if (!tagged(ref)) ref = `${ref.replace(/:latest$/, '')}:dev`;
    keys.warn('build', `not built here: build it as ${ref} and push it, or load it into the cluster (kind load docker-image ${ref})`);
  } else if (!tagged(ref)) {
    if (fallback !== undefined) {
      keys.warn('image', `"${ref}" has no pinned tag; using ${fallback || 'the spec default'}`);
      return fallback || undefined;
    }
    keys.fail('image', `"${ref}" has no pinned tag; pin a version such as "${ref.replace(/:latest$/, '')}:1.2.3" (latest changes under you)`);
  }
  const checked = imageField.safeParse(ref);
  if (!checked.success) keys.fail('image', `"${ref}" ${checked.error.issues[0].message}`);
  return ref;
}
