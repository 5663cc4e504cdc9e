import { describe, expect, it } from 'vitest';
import { container, find, has, manifests, podSpec } from '../support/manifests';

describe('Pgadmin', () => {
  it('exists in kind and k3d, not in prod', () => {
    expect(has(manifests(undefined, 'kind'), 'Deployment', 'pgadmin')).toBe(true);
    expect(has(manifests(undefined, 'k3d'), 'Deployment', 'pgadmin')).toBe(true);
    expect(has(manifests(undefined, 'prod'), 'Deployment', 'pgadmin')).toBe(false);
  });

  const objs = manifests();
  const d = find(objs, 'Deployment', 'pgadmin');
  const c = container(d);

  it('keeps the root filesystem read-only by moving its writable files onto emptyDirs', () => {
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    expect(env.PGADMIN_CUSTOM_CONFIG_DISTRO_FILE).toBe('/var/lib/pgadmin/config_distro.py');
    expect(env.PGADMIN_DEFAULT_PASSWORD_FILE).toBe('/run/secrets/pgadmin/password');
    expect(env.PGADMIN_LISTEN_PORT).toBe('5050');
    const mounted = c.volumeMounts.map((m: any) => m.mountPath);
    expect(mounted).toEqual(expect.arrayContaining(['/tmp', '/var/lib/pgadmin', '/var/log/pgadmin']));
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it('keeps NET_BIND_SERVICE (its python has that file capability) and drops everything else', () => {
    expect(c.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] });
  });

  it('pre-registers the stack postgres', () => {
    const servers = JSON.parse(find(objs, 'ConfigMap', 'pgadmin-servers').data['servers.json']);
    expect(servers.Servers['1']).toMatchObject({ Name: 'postgres', Host: 'postgres', Port: 5432, Username: 'postgres' });
    expect(podSpec(d).volumes.find((v: any) => v.name === 'servers').configMap.name).toBe('pgadmin-servers');
  });
});
