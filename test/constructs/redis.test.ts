import { describe, expect, it } from 'vitest';
import { container, find, manifestsOf, manifests, podSpec } from '../support/manifests';
import { defineStack } from '../../model/load';
import { resolveStack } from '../../model/presets';
import type { StackSpecInput } from '../../model/schema';

const redisOnly = (redis: Record<string, unknown>, extra: Partial<StackSpecInput> = {}): StackSpecInput =>
  ({ name: 'cache', components: { redis: { kind: 'redis', ...redis } }, ...extra }) as StackSpecInput;
const confOf = (objs: any[]) => find(objs, 'ConfigMap', 'redis-config').data['redis.conf'] as string;
const limitOf = (objs: any[]) => container(find(objs, 'StatefulSet', 'redis')).resources.limits.memory as string;

describe('Redis', () => {
  const objs = manifests();
  const sts = find(objs, 'StatefulSet', 'redis');
  const c = container(sts);

  it('runs as uid 10999 with /data on a retained claim template', () => {
    expect(podSpec(sts).securityContext).toMatchObject({ runAsUser: 10999, runAsGroup: 10999, fsGroup: 10999 });
    expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
    expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('512Mi');
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
  });

  it('persists with an append-only file and listens on every interface', () => {
    const conf = find(objs, 'ConfigMap', 'redis-config').data['redis.conf'];
    expect(conf).toContain('appendonly yes');
    expect(conf).toContain('bind * -::*');
    expect(conf).toContain('maxmemory 256mb');
    expect(conf).toContain('include /run/redis/auth.conf');
  });

  it('reads its password from the redis-auth Secret at start, never from the manifest', () => {
    expect(c.command[2]).toContain('"$(cat /run/secrets/redis/password)" > /run/redis/auth.conf');
    // The password file is written by this command, not the image's entrypoint and its umask 0077.
    expect(c.command[2]).toMatch(/^umask 0077 && /);
    expect(podSpec(sts).volumes.find((v: any) => v.name === 'auth').secret.secretName).toBe('redis-auth');
    expect(c.env).toBeUndefined();
  });

  it('runs a password-sync sidecar that shares the auth file and the Secret, not without a password', () => {
    const [sidecar] = podSpec(sts).initContainers;
    expect(sidecar).toMatchObject({ name: 'password-sync', image: c.image, restartPolicy: 'Always' });
    expect(sidecar.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/tmp', '/run/redis', '/run/secrets/redis']);
    expect(sidecar.command[2]).toContain('-x CONFIG SET requirepass');
    expect(podSpec(find(manifestsOf(redisOnly({ password: false })), 'StatefulSet', 'redis')).initContainers).toBeUndefined();
  });

  it('probes with redis-cli ping; liveness tolerates LOADING, readiness does not', () => {
    expect(c.readinessProbe.exec.command[2]).toMatch(/REDISCLI_AUTH=.*redis-cli -h 127.0.0.1 -p 6379 ping \| grep -q PONG$/);
    expect(c.livenessProbe.exec.command[2]).toContain("grep -qE 'PONG|LOADING|MASTERDOWN'");
  });

  it('runs without auth when the spec turns the password off, and clients get a plain URL', () => {
    const open = manifestsOf({
      name: 'cache',
      components: {
        redis: { kind: 'redis', password: false },
        web: { kind: 'web', image: 'ghcr.io/acme/web:1.0.0', port: 8000, healthPath: '/', uses: [{ to: 'redis', redisDb: 2 }] },
      },
    });
    const sts2 = find(open, 'StatefulSet', 'redis');
    expect(container(sts2).command).toEqual(['sh', '-c', 'exec redis-server /etc/redis/redis.conf']);
    expect(find(open, 'ConfigMap', 'redis-config').data['redis.conf']).toContain('protected-mode no');
    expect(container(find(open, 'Deployment', 'web')).env).toEqual([{ name: 'REDIS_URL', value: 'redis://redis:6379/2' }]);
  });

  describe('memory: a cap below the container limit, and an eviction policy that fits what Redis holds', () => {
    it('gives the reference cache (256mb, cache: true) a 512Mi limit and evicts least-recently-used keys', () => {
      expect(limitOf(objs)).toBe('512Mi');
      expect(confOf(objs)).toContain('maxmemory 256mb\nmaxmemory-policy allkeys-lru\n');
      // prod's preset limit (512Mi) already leaves the headroom (twice the cap).
      expect(limitOf(manifests(undefined, 'prod'))).toBe('512Mi');
    });

    it('refuses writes at the cap instead of evicting (a queue or broker loses nothing) unless declared a cache', () => {
      const objs2 = manifestsOf(redisOnly({ maxMemory: '256mb' }));
      expect(confOf(objs2)).toContain('maxmemory-policy noeviction');
      expect(limitOf(objs2)).toBe('512Mi');
    });

    it('without maxMemory, caps Redis at half its limit, so it never grows into an OOM kill', () => {
      expect(confOf(manifestsOf(redisOnly({})))).toContain('maxmemory 128mb\nmaxmemory-policy noeviction');
      expect(confOf(manifestsOf(redisOnly({ resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { memory: '3Gi' } } })))).toContain('maxmemory 1536mb');
    });

    it('takes an explicit eviction policy as written', () => {
      expect(confOf(manifestsOf(redisOnly({ cache: true, evictionPolicy: 'volatile-ttl' })))).toContain('maxmemory-policy volatile-ttl');
    });

    it('rejects explicit resources that leave no headroom, naming the field and the minimum', () => {
      const tight = redisOnly({ maxMemory: '256mb', resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } } });
      expect(() => manifestsOf(tight)).toThrow(/components\.redis\.resources\.limits\.memory: 256Mi leaves Redis no headroom above maxMemory 256mb.*Set at least 512Mi or lower maxMemory/);
      const override = redisOnly({ maxMemory: '1gb' }, { environments: { prod: { components: { redis: { resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { memory: '1Gi' } } } } } } });
      expect(() => resolveStack(defineStack(override, 'test'), 'prod', 'stack.yaml')).toThrow(
        /stack\.yaml: environments\.prod\.components\.redis\.resources\.limits\.memory: 1Gi leaves Redis no headroom above maxMemory 1gb.*at least 2048Mi/,
      );
      expect(() => resolveStack(defineStack(override, 'test'), 'kind', 'stack.yaml')).not.toThrow();
    });

    it('rejects an unknown eviction policy with the allowed ones', () => {
      expect(() => defineStack(redisOnly({ evictionPolicy: 'lru' }), 'stack.yaml')).toThrow(/components\.redis\.evictionPolicy: .*noeviction.*allkeys-lru/);
    });
  });
});
