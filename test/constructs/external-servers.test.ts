/**
 * External servers (`external` on postgres and redis): nothing of them runs in the cluster, clients
 * get their host and port, NetworkPolicies let the clients out to them, and their passwords are
 * Secrets the user provides.
 */
import { describe, expect, it } from 'vitest';
import { planSecrets } from '../../ops/secrets';
import { parseSpec } from '../../model/load';
import { requiredSecrets } from '../../model/relations';
import type { StackSpecInput } from '../../model/schema';
import { container, envOf, find, has, manifestsOf } from '../support/manifests';
import { allowed, type Endpoint } from '../support/netpol';

const NS = 'reports';
const pod = (name: string): Endpoint => ({ labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': NS } });
const outside: Endpoint = { ip: '203.0.113.7' };

const stack = (cache: Record<string, unknown>, extra: Partial<StackSpecInput> = {}): StackSpecInput =>
  ({
    name: NS,
    components: {
      cache: { kind: 'redis', external: { host: 'cache.example.net', port: 6380 }, ...cache },
      api: { kind: 'web', image: 'ghcr.io/acme/api:1.0.0', port: 8000, healthPath: '/health', uses: [{ to: 'cache', redisDb: 2 }] },
      nightly: { kind: 'worker', image: 'ghcr.io/acme/api:1.0.0', schedule: '0 3 * * *', uses: [{ to: 'cache', scheme: 'rediss', env: 'BROKER_URL' }] },
    },
    ...extra,
  }) as StackSpecInput;

describe('external Redis', () => {
  const objs = manifestsOf(stack({}));
  const can = (from: Endpoint, to: Endpoint, port: number, o = objs) => allowed(o, NS, from, to, port);

  it('runs nothing in the cluster: no StatefulSet, Service, ConfigMap, claim or policy of its own', () => {
    const mine = objs.filter((o) => o.metadata?.name?.startsWith('cache') || o.metadata?.labels?.['app.kubernetes.io/name'] === 'cache');
    expect(mine).toEqual([]);
    expect(has(objs, 'Deployment', 'api')).toBe(true);
  });

  it('gives each client the external host and port, with the password from the Secret the user provides', () => {
    const env = envOf(container(find(objs, 'Deployment', 'api')));
    expect(env.REDIS_URL).toBe('redis://:$(REDIS_PASSWORD)@cache.example.net:6380/2');
    expect(env.REDIS_PASSWORD).toEqual({ secretKeyRef: { name: 'cache-auth', key: 'password' } });
    expect(envOf(container(find(objs, 'CronJob', 'nightly'))).BROKER_URL).toBe('rediss://:$(BROKER_PASSWORD)@cache.example.net:6380/0');
  });

  it('without a password, the URL carries none and no Secret is needed', () => {
    const open = manifestsOf(stack({ password: false }));
    const env = envOf(container(find(open, 'Deployment', 'api')));
    expect(env.REDIS_URL).toBe('redis://cache.example.net:6380/2');
    expect(env.REDIS_PASSWORD).toBeUndefined();
    expect(requiredSecrets(parseSpec(stack({ password: false }), 'test')).map((s) => s.name)).toEqual([]);
  });

  it('lets each client out to the external port only, and never to an in-cluster peer named after it', () => {
    expect(can(pod('api'), outside, 6380)).toBe(true);
    expect(can(pod('nightly'), outside, 6380)).toBe(true);
    expect(can(pod('api'), outside, 6379)).toBe(false);
    expect(can(pod('api'), pod('cache'), 6380)).toBe(false);
  });

  it('narrows the egress to the address when the host is an IPv4 address', () => {
    const byIp = manifestsOf(stack({ external: { host: '10.20.30.40' } }));
    expect(can(pod('api'), { ip: '10.20.30.40' }, 6379, byIp)).toBe(true);
    expect(can(pod('api'), outside, 6379, byIp)).toBe(false);
  });

  it('is not among the pods and Service ports of network mode stack', () => {
    const wide = find(manifestsOf(stack({}, { network: { mode: 'stack' } })), 'NetworkPolicy', 'stackport-internal').spec;
    expect(wide.podSelector.matchExpressions[0].values).toEqual(['api', 'nightly']);
    expect(wide.ingress[0].ports.map((p: any) => p.port)).toEqual([8000]);
  });

  it('a run-once client waits for the external host with redis-cli, over TLS when it dials rediss://', () => {
    const wait = container(find(objs, 'CronJob', 'nightly'), 'wait-for-cache');
    expect(wait.image).toBe('redis:7.4');
    expect(wait.command[2]).toContain('redis-cli -h cache.example.net -p 6380 --tls --insecure --no-auth-warning ping');
    expect(wait.command[2]).toContain('cache is an external server: check that cache.example.net:6380 answers from the cluster');
  });

  it('its password is provided by the user: the secrets command never generates it', () => {
    const spec = parseSpec(stack({}, { environments: { prod: { edge: { host: 'reports.example.com', className: 'eg' } } } }), 'test');
    expect(requiredSecrets(spec)).toEqual([{ name: 'cache-auth', keys: ['password'], source: 'provided', usedBy: ['api', 'cache', 'nightly'] }]);
    const local = planSecrets(spec, 'kind', new Map(), {});
    expect((local.objects[0] as any).stringData.password).toMatch(/^placeholder-/);
    expect(local.warnings).toEqual([expect.stringContaining('cache-auth/password: set CACHE_AUTH_PASSWORD to use a real value')]);
    expect(() => planSecrets(spec, 'prod', new Map(), {})).toThrow('environment prod needs values for: cache-auth/password (set CACHE_AUTH_PASSWORD)');
    expect((planSecrets(spec, 'kind', new Map(), { CACHE_AUTH_PASSWORD: 'from-the-provider' }).objects[0] as any).stringData.password).toBe('from-the-provider');
  });
});

describe('external PostgreSQL', () => {
  it('is reached by IPv4 address alone when its host is one', () => {
    const objs = manifestsOf({
      name: NS,
      components: {
        db: { kind: 'postgres', external: { host: '192.0.2.10' }, databases: [{ name: 'reports', owner: 'reports' }] },
        web: { kind: 'web', role: 'dashboard', image: 'ghcr.io/acme/dash:3.1.0', port: 8050, healthPath: '/', uses: ['db'] },
      },
    });
    expect(allowed(objs, NS, pod('web'), { ip: '192.0.2.10' }, 5432)).toBe(true);
    expect(allowed(objs, NS, pod('web'), outside, 5432)).toBe(false);
    expect(envOf(container(find(objs, 'Deployment', 'web'))).DATABASE_URL).toBe('postgresql://reports:$(DATABASE_PASSWORD)@192.0.2.10:5432/reports');
  });
});
