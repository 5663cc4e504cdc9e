/** Shared volumes, env files, config files, Secret files, probe overrides and extra ports on workloads. */
import { describe, expect, it } from 'vitest';
import { isBuiltInKind, validateAll } from '../support/k8s-schema';
import { checkRestricted } from '../support/pod-security';
import { container, find, has, manifestsOf, podSpec } from '../support/manifests';
import type { StackSpecInput } from '../../model/schema';

const SPEC: StackSpecInput = {
  name: 'lab',
  volumes: { duckdb: { storage: '2Gi' } },
  envFiles: { common: { LOG_LEVEL: 'info', TZ: 'Etc/UTC' } },
  components: {
    dashboard: {
      kind: 'web',
      role: 'dashboard',
      image: 'ghcr.io/acme/dash:1.0.0',
      port: 8501,
      healthPath: '/_stcore/health',
      envFrom: ['common'],
      volumes: [{ volume: 'duckdb', path: '/data', readOnly: true }],
      files: { '/app/.streamlit/config.toml': '[server]\nheadless = true\n' },
      secretFiles: { '/run/secrets/token': 'lab-secrets/token' },
      extraPorts: [{ name: 'metrics', port: 9100 }],
    },
    ingest: {
      kind: 'worker',
      mode: 'continuous',
      image: 'ghcr.io/acme/ingest:1.0.0',
      volumes: [{ volume: 'duckdb', path: '/data' }],
      probe: { command: ['sh', '-c', 'test -f /data/heartbeat'], periodSeconds: 30 },
      terminationGracePeriodSeconds: 120,
    },
    nightly: { kind: 'worker', image: 'ghcr.io/acme/ingest:1.0.0', envFrom: ['common'] },
    unused: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/ingest:1.0.0', probe: false },
  },
};

describe('workload mounts and probes', () => {
  const objs = manifestsOf(SPEC, 'kind');
  const dash = find(objs, 'Deployment', 'dashboard');

  it('renders one PVC per used volume and one ConfigMap per used env file', () => {
    expect(find(objs, 'PersistentVolumeClaim', 'duckdb').spec).toEqual({ accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '2Gi' } } });
    expect(find(objs, 'ConfigMap', 'common').data).toEqual({ LOG_LEVEL: 'info', TZ: 'Etc/UTC' });
    expect(container(dash).envFrom).toEqual([{ configMapRef: { name: 'common' } }]);
    expect(container(find(objs, 'CronJob', 'nightly')).envFrom).toEqual([{ configMapRef: { name: 'common' } }]);
  });

  it('mounts volumes, files (one by one) and Secret keys', () => {
    expect(container(dash).volumeMounts).toEqual([
      { name: 'tmp', mountPath: '/tmp' },
      { name: 'pvc-duckdb', mountPath: '/data', readOnly: true },
      { name: 'cfg-files', mountPath: '/app/.streamlit/config.toml', subPath: 'config.toml', readOnly: true },
      { name: 'sec-lab-secrets', mountPath: '/run/secrets/token', subPath: 'token', readOnly: true },
    ]);
    expect(find(objs, 'ConfigMap', 'dashboard-files').data).toEqual({ 'config.toml': '[server]\nheadless = true\n' });
    expect(podSpec(dash).volumes).toContainEqual({ name: 'sec-lab-secrets', secret: { secretName: 'lab-secrets', defaultMode: 0o440, items: [{ key: 'token', path: 'token' }] } });
  });

  it('replaces pods instead of rolling them when a ReadWriteOnce volume is mounted', () => {
    expect(dash.spec.strategy).toEqual({ type: 'Recreate' });
    expect(find(objs, 'Deployment', 'ingest').spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('adds extra ports to the container and the Service', () => {
    expect(container(dash).ports).toContainEqual({ name: 'metrics', containerPort: 9100, protocol: 'TCP' });
    expect(find(objs, 'Service', 'dashboard').spec.ports[1]).toEqual({ name: 'metrics', port: 9100, targetPort: 'metrics', protocol: 'TCP' });
  });

  it('uses a probe command for a continuous worker without a health port, or none when probe is false', () => {
    const ingest = find(objs, 'Deployment', 'ingest');
    expect(container(ingest).readinessProbe).toEqual({ exec: { command: ['sh', '-c', 'test -f /data/heartbeat'] }, periodSeconds: 30, timeoutSeconds: 5, failureThreshold: 3 });
    expect(container(ingest).livenessProbe.periodSeconds).toBe(60);
    expect(container(ingest).ports).toBeUndefined();
    expect(podSpec(ingest).terminationGracePeriodSeconds).toBe(120);
    const unused = container(find(objs, 'Deployment', 'unused'));
    expect([unused.readinessProbe, unused.livenessProbe, unused.startupProbe]).toEqual([undefined, undefined, undefined]);
  });

  it('stays valid and restricted', () => {
    expect(validateAll(objs.filter((o) => isBuiltInKind(o.apiVersion, o.kind)))).toEqual([]);
    expect(objs.flatMap((o) => checkRestricted(o))).toEqual([]);
  });

  it('leaves out volumes and env files no enabled component uses', () => {
    const objs2 = manifestsOf({ ...SPEC, volumes: { ...SPEC.volumes, spare: {} }, envFiles: { ...SPEC.envFiles, spare: { A: 'b' } } });
    expect(has(objs2, 'PersistentVolumeClaim', 'spare')).toBe(false);
    expect(has(objs2, 'ConfigMap', 'spare')).toBe(false);
  });
});
