/**
 * Dev manifests (`synth --live-sync`): the folders of `build.sync` become writable copies seeded
 * from the image, and nothing else about the pod changes. The seed script itself runs in a
 * container with a read-only root on the real node (test/runtime/laptop.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildManifests } from '../../charts/synth';
import { liveSyncSeed } from '../../charts/live-sync';
import { parseSpec } from '../../model/load';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
import { SpecError } from '../../model/errors';

const c = referenceStack.components as Record<string, any>;
const spec = parseSpec(
  {
    ...referenceStack,
    components: {
      ...c,
      // /tmp is already a writable volume of every pod: not mounted twice.
      api: { ...c.api, build: { context: 'app', sync: [{ from: 'app/src', to: '/srv/app/' }, { from: 'app/lib', to: '/srv/lib' }, { from: 'app/scratch', to: '/tmp' }] } },
    },
  },
  'live sync test',
);
const podOf = (objs: any[], kind: string, name: string) => objs.find((o) => o.kind === kind && o.metadata.name === name).spec.template.spec;

describe('live sync', () => {
  const dev = buildManifests(resolveStack(spec, 'kind', undefined, { liveSync: true }));
  const plain = buildManifests(resolveStack(spec, 'kind'));

  it('mounts one seeded copy per synced folder over the app container, and only there', () => {
    const api = podOf(dev, 'Deployment', 'api');
    const app = api.containers[0];
    expect(app.volumeMounts.filter((m: any) => m.name === 'live-sync')).toEqual([
      { name: 'live-sync', mountPath: '/srv/app', subPath: '0' },
      { name: 'live-sync', mountPath: '/srv/lib', subPath: '1' },
    ]);
    expect(app.volumeMounts.filter((m: any) => m.mountPath === '/tmp')).toHaveLength(1);
    expect(api.initContainers.map((i: any) => i.name)).toEqual(['live-sync-seed', 'wait-for-migrate']);
    expect(api.initContainers[0].volumeMounts).toContainEqual({ name: 'live-sync', mountPath: '/stackport-live-sync' });
  });

  it('changes nothing else: the same pod as for the cluster, plus the volume, the seed and the mounts', () => {
    const strip = (pod: any) => ({
      ...pod,
      volumes: pod.volumes.filter((v: any) => v.name !== 'live-sync'),
      initContainers: pod.initContainers.filter((i: any) => i.name !== 'live-sync-seed'),
      containers: pod.containers.map((x: any) => ({ ...x, volumeMounts: x.volumeMounts.filter((m: any) => m.name !== 'live-sync') })),
    });
    expect(strip(podOf(dev, 'Deployment', 'api'))).toEqual(podOf(plain, 'Deployment', 'api'));
    expect(podOf(dev, 'Deployment', 'dashboard')).toEqual(podOf(plain, 'Deployment', 'dashboard'));
    expect(JSON.stringify(plain)).not.toContain('live-sync');
  });

  it('is for laptop clusters only', () => {
    expect(() => resolveStack(spec, 'prod', 'stack.yaml', { liveSync: true })).toThrow(SpecError);
    expect(() => resolveStack(spec, 'prod', 'stack.yaml', { liveSync: true })).toThrow(/live sync \(dev manifests\) is for kind and k3d only, not prod/);
    expect(() => buildManifests(resolveStack(spec, 'k3d', undefined, { liveSync: true }))).not.toThrow();
  });

  it("the seed copies the image's folder (modes kept), makes an empty one for a folder the image lacks, and refuses a file", () => {
    const root = mkdtempSync(join(tmpdir(), 'stackport-seed-'));
    const image = join(root, 'image');
    mkdirSync(join(image, 'srv', 'app', 'pkg'), { recursive: true });
    writeFileSync(join(image, 'srv', 'app', 'pkg', 'main.py'), 'print(1)\n', { mode: 0o640 });
    writeFileSync(join(image, 'srv', 'file'), 'x');
    const seedDir = join(root, 'seed');
    // The script as synthesized, with the container's paths moved under the test folder.
    const script = (paths: string[]) => liveSyncSeed({ name: 'app', image: 'i', resources: {} as any }, paths.map((p) => join(image, p))).command![2].replaceAll('/stackport-live-sync', seedDir);
    const out = execFileSync('sh', ['-c', script(['srv/app', 'srv/missing'])], { encoding: 'utf8' });
    expect(out).toContain('writable for live update');
    expect(readFileSync(join(seedDir, '0', 'pkg', 'main.py'), 'utf8')).toBe('print(1)\n');
    expect(execFileSync('stat', ['-c', '%a', join(seedDir, '0', 'pkg', 'main.py')], { encoding: 'utf8' }).trim()).toBe('640');
    expect(execFileSync('ls', ['-A', join(seedDir, '1')], { encoding: 'utf8' })).toBe('');
    let err = '';
    try {
      execFileSync('sh', ['-c', script(['srv/file'])], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      err = String((e as any).stderr);
    }
    expect(err).toContain(`${join(image, 'srv/file')} is a file in the image; sync its folder instead (build.sync[].to)`);
  });
});
