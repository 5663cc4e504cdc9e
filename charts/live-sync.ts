/**
 * Live update into hardened pods, for the development loop only (`stackport synth --live-sync`,
 * which `stackport dev` runs). Tilt and Skaffold copy changed files into a running container with
 * `tar -x` run as the container's uid, but every container here has a read-only root filesystem.
 * So in dev manifests each folder a component syncs (`build.sync[].to`) becomes a writable volume:
 * an init container with the app's own image copies what the image has there into an emptyDir, and
 * the app container mounts that copy over the folder. The folder is a subPath the init container
 * created, so it is owned by the pod's uid: tar can set its mode and times, which it cannot on a
 * volume root owned by root. Everything else stays as synthesized: non-root, read-only root,
 * no capabilities. Synthesis for a cluster never does this.
 */
import type { Resolved, ResolvedStack } from '../model/presets';
import type { ContainerProps } from './pod';
import { shellQuote } from './workload';

/** Volume, init container and mount folder of the synced copies. */
export const LIVE_SYNC = 'live-sync';
const SEED_DIR = '/stackport-live-sync';
/** Room for the synced source folders (emptyDir sizeLimit). */
export const LIVE_SYNC_SIZE = '1Gi';

/** The folders a component's pods take synced files into, in dev manifests; none otherwise. */
export function liveSyncPaths(stack: ResolvedStack, c: Resolved): string[] {
  if (!stack.liveSync || !('build' in c) || !c.build?.sync) return [];
  return [...new Set(c.build.sync.map((s) => s.to.replace(/\/+$/, '') || '/'))];
}

/** The init container that seeds the copies from the image: what the image has at each folder, or an empty folder. */
export function liveSyncSeed(app: ContainerProps, paths: readonly string[]): ContainerProps {
  const script = [
    'set -eu',
    `seed() {`,
    `  mkdir -p "${SEED_DIR}/$2"`,
    // A file cannot take a folder mounted over it, and a file mounted alone cannot be replaced by tar.
    `  if [ -e "$1" ] && [ ! -d "$1" ]; then echo "${LIVE_SYNC}: $1 is a file in the image; sync its folder instead (build.sync[].to)" >&2; exit 1; fi`,
    `  if [ -d "$1" ]; then cp -a "$1/." "${SEED_DIR}/$2/"; fi`,
    `}`,
    ...paths.map((p, i) => `seed ${shellQuote(p)} ${i}`),
    `echo "${LIVE_SYNC}: ${paths.join(', ')} writable for live update"`,
  ].join('\n');
  return {
    name: `${LIVE_SYNC}-seed`,
    image: app.image,
    command: ['sh', '-c', script],
    resources: app.resources,
    volumeMounts: [{ name: LIVE_SYNC, mountPath: SEED_DIR }],
  };
}

/** Each synced folder mounted over its place in the app container. */
export function liveSyncMounts(paths: readonly string[]) {
  return paths.map((mountPath, i) => ({ name: LIVE_SYNC, mountPath, subPath: String(i) }));
}
