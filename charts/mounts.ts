/**
 * What a workload mounts besides its scratch directories: shared volumes (PersistentVolumeClaims
 * of the stack), config files (one ConfigMap per component) and Secret keys as files. Files are
 * mounted one by one (subPath), so they never hide the rest of the directory they land in.
 */
import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { ResolvedStack } from '../model/presets';
import type { SecretRef } from '../model/schema';
import { meta } from './labels';
import type { ContainerProps } from './pod';
import { shellQuote } from './workload';

export interface MountSource {
  readonly name: string;
  readonly volumes?: readonly { volume: string; path: string; readOnly?: boolean; subPath?: string }[];
  readonly files?: Readonly<Record<string, string>>;
  readonly secretFiles?: Readonly<Record<string, SecretRef>>;
}

export interface Mounts {
  readonly volumes: k8s.Volume[];
  readonly volumeMounts: k8s.VolumeMount[];
  /** One per seeded volume the component mounts: fills it before the app starts (see seedContainer). */
  readonly initContainers: ContainerProps[];
}

const SEED_TARGET = '/seed-target';

/**
 * Copies a seed image's folder into an empty volume. Every pod of every component that mounts the
 * volume runs it, so whichever starts first fills it; a volume that has content is left as it is.
 */
function seedContainer(stack: ResolvedStack, volume: string, claim: string, seed: { image: string; path: string }): ContainerProps {
  const copy = `if [ -z "$(ls -A ${SEED_TARGET})" ]; then cp -R ${shellQuote(seed.path.replace(/\/+$/, '') || '/')}/. ${SEED_TARGET}/; fi`;
  return {
    name: `seed-${volume}`.slice(0, 63).replace(/-+$/, ''),
    image: seed.image,
    command: ['sh', '-c', copy],
    resources: stack.preset.resources.wait,
    volumeMounts: [{ name: claim, mountPath: SEED_TARGET }],
  };
}

/** ConfigMap keys for file paths: the base name, made unique with a counter when two files share one. */
export function fileKeys(paths: readonly string[]): Map<string, string> {
  const keys = new Map<string, string>();
  const used = new Set<string>();
  for (const path of paths) {
    const base = path.slice(path.lastIndexOf('/') + 1).replace(/[^-._a-zA-Z0-9]/g, '-') || 'file';
    let key = base;
    for (let i = 2; used.has(key); i++) key = `${i}-${base}`;
    used.add(key);
    keys.set(path, key);
  }
  return keys;
}

/** Volumes and mounts for a component; creates its `<name>-files` ConfigMap when it has files. */
export function addMounts(scope: Construct, stack: ResolvedStack, c: MountSource, labels: Record<string, string>): Mounts {
  const volumes: k8s.Volume[] = [];
  const volumeMounts: k8s.VolumeMount[] = [];
  const initContainers: ContainerProps[] = [];
  for (const v of c.volumes ?? []) {
    const name = `pvc-${v.volume}`.slice(0, 63);
    const seed = stack.spec.volumes?.[v.volume]?.seed;
    if (!volumes.some((x) => x.name === name)) {
      volumes.push({ name, persistentVolumeClaim: { claimName: v.volume } });
      if (seed) initContainers.push(seedContainer(stack, v.volume, name, seed));
    }
    volumeMounts.push({ name, mountPath: v.path, readOnly: v.readOnly, subPath: v.subPath });
  }
  const files = Object.entries(c.files ?? {});
  if (files.length > 0) {
    const keys = fileKeys(files.map(([p]) => p));
    const configMap = `${c.name}-files`;
    new k8s.KubeConfigMap(scope, 'files', { metadata: meta(stack, configMap, labels), data: Object.fromEntries(files.map(([p, text]) => [keys.get(p)!, text])) });
    volumes.push({ name: 'cfg-files', configMap: { name: configMap, defaultMode: 0o444 } });
    for (const [path] of files) volumeMounts.push({ name: 'cfg-files', mountPath: path, subPath: keys.get(path), readOnly: true });
  }
  const bySecret = new Map<string, { path: string; key: string }[]>();
  for (const [path, ref] of Object.entries(c.secretFiles ?? {})) bySecret.set(ref.secret, [...(bySecret.get(ref.secret) ?? []), { path, key: ref.key }]);
  for (const [secret, entries] of bySecret) {
    const name = `sec-${secret}`.slice(0, 63).replace(/-+$/, '');
    const keys = [...new Set(entries.map((e) => e.key))];
    volumes.push({ name, secret: { secretName: secret, defaultMode: 0o440, items: keys.map((key) => ({ key, path: key })) } });
    for (const e of entries) volumeMounts.push({ name, mountPath: e.path, subPath: e.key, readOnly: true });
  }
  return { volumes, volumeMounts, initContainers };
}
