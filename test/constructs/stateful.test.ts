import { describe, expect, it } from 'vitest';
import { isBuiltInKind, validateAll } from '../support/k8s-schema';
import { checkRestricted } from '../support/pod-security';
import { container, envOf, find, manifestsOf, podSpec } from '../support/manifests';
import type { StackSpecInput } from '../../model/schema';

const SPEC: StackSpecInput = {
  name: 'shop',
  components: {
    mysql: {
      kind: 'stateful',
      image: 'mysql:8.4',
      ports: [{ name: 'mysql', port: 3306 }],
      data: [{ name: 'data', path: '/var/lib/mysql', storage: '5Gi' }],
      writablePaths: ['/tmp', '/var/run/mysqld'],
      secretEnv: { MYSQL_ROOT_PASSWORD: 'shop-secrets/mysql-root-password' },
      env: { MYSQL_DATABASE: 'shop' },
    },
    api: { kind: 'web', image: 'ghcr.io/acme/api:1.0.0', port: 8000, healthPath: '/health', uses: ['mysql'], env: { DB_HOST: 'mysql' } },
  },
};

describe('Stateful', () => {
  const objs = manifestsOf(SPEC, 'kind');
  const sts = find(objs, 'StatefulSet', 'mysql');

  it('is a StatefulSet with a retained claim template per data directory', () => {
    expect(sts.spec.serviceName).toBe('mysql-headless');
    expect(sts.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
    expect(sts.spec.volumeClaimTemplates).toEqual([
      { metadata: { name: 'data', labels: { 'app.kubernetes.io/name': 'mysql', 'app.kubernetes.io/part-of': 'shop' } }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'standard', resources: { requests: { storage: '5Gi' } } } },
    ]);
    expect(container(sts).volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/mysql' });
  });

  it('gets a client and a headless Service on its ports', () => {
    expect(find(objs, 'Service', 'mysql').spec.ports).toEqual([{ name: 'mysql', port: 3306, targetPort: 'mysql', protocol: 'TCP' }]);
    expect(find(objs, 'Service', 'mysql-headless').spec.clusterIP).toBe('None');
  });

  it('probes with a TCP connect to its first port by default, and a command when given', () => {
    expect(container(sts).readinessProbe).toEqual({ tcpSocket: { port: 3306 }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
    expect(container(sts).livenessProbe.periodSeconds).toBe(20);
    expect(container(sts).startupProbe).toMatchObject({ periodSeconds: 5, failureThreshold: 24 });
    const probed = manifestsOf({ ...SPEC, components: { ...SPEC.components, mysql: { ...(SPEC.components.mysql as object), probe: { command: ['sh', '-c', 'mysqladmin ping'], startupSeconds: 60 } } as never } });
    expect(container(find(probed, 'StatefulSet', 'mysql')).readinessProbe.exec).toEqual({ command: ['sh', '-c', 'mysqladmin ping'] });
    expect(container(find(probed, 'StatefulSet', 'mysql')).startupProbe.failureThreshold).toBe(12);
  });

  it('reads secrets from Secrets and is hardened like every pod', () => {
    expect(envOf(container(sts)).MYSQL_ROOT_PASSWORD).toEqual({ secretKeyRef: { name: 'shop-secrets', key: 'mysql-root-password' } });
    expect(podSpec(sts).securityContext.runAsUser).toBe(10001);
    expect(checkRestricted(sts)).toEqual([]);
    expect(validateAll(objs.filter((o) => isBuiltInKind(o.apiVersion, o.kind)))).toEqual([]);
  });

  it('admits the flows of components that use it, on its first port, and gives them no variable', () => {
    const np = find(objs, 'NetworkPolicy', 'mysql');
    expect(np.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'api', 'app.kubernetes.io/part-of': 'shop' } } }], ports: [{ port: 3306, protocol: 'TCP' }] }]);
    expect(Object.keys(envOf(container(find(objs, 'Deployment', 'api'))))).toEqual(['DB_HOST']);
  });
});

describe('Stateful using another server', () => {
  it('is admitted to it by NetworkPolicy, on every port of the target', () => {
    const objs = manifestsOf({
      name: 'stream',
      components: {
        zookeeper: { kind: 'stateful', image: 'zookeeper:3.9', ports: [{ name: 'client', port: 2181 }, { name: 'admin', port: 8080 }] },
        kafka: { kind: 'stateful', image: 'apache/kafka:3.8.0', ports: [{ name: 'kafka', port: 9092 }], uses: ['zookeeper'], env: { KAFKA_ZOOKEEPER_CONNECT: 'zookeeper:2181' } },
      },
    });
    const ingress = find(objs, 'NetworkPolicy', 'zookeeper').spec.ingress;
    expect(ingress).toEqual([{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'kafka', 'app.kubernetes.io/part-of': 'stream' } } }], ports: [{ port: 2181, protocol: 'TCP' }, { port: 8080, protocol: 'TCP' }] }]);
    expect(envOf(container(find(objs, 'StatefulSet', 'kafka')))).toEqual({ KAFKA_ZOOKEEPER_CONNECT: 'zookeeper:2181' });
  });
});
