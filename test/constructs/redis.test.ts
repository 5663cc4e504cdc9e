import { describe, expect, it } from 'vitest';
import { container, find, manifestsOf, manifests, podSpec } from '../support/manifests';

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
    expect(podSpec(sts).volumes.find((v: any) => v.name === 'auth').secret.secretName).toBe('redis-auth');
    expect(c.env).toBeUndefined();
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
});
