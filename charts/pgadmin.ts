import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { PgadminComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { endpointOf, secretNames } from '../model/relations';
import { labelsFor, meta, selectorFor } from './labels';
import { httpProbe, podTemplate, tcpProbe } from './pod';

export interface PgadminProps {
  readonly stack: ResolvedStack;
  readonly component: Resolved<PgadminComponent>;
}

export const PGADMIN_IMAGE = 'dpage/pgadmin4:9.17';
export const PGADMIN_PORT = 5050;

/**
 * pgAdmin for local environments (the presets disable it in prod), with the stack's PostgreSQL
 * servers pre-registered. Its entrypoint writes config_distro.py, which is moved onto the data
 * emptyDir so the root filesystem stays read-only; its python binary carries the
 * NET_BIND_SERVICE file capability, which must stay in the bounding set or exec fails.
 */
export class Pgadmin extends Construct {
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: PgadminProps) {
    super(scope, id);
    const { stack, component: c } = props;
    const name = c.name;
    const image = c.image ?? PGADMIN_IMAGE;
    const labels = labelsFor(stack, name, 'admin', image);
    const selector = selectorFor(stack, name);
    const servers = c.servers ?? Object.values(stack.components).filter((x) => x.kind === 'postgres').map((x) => x.name);

    new k8s.KubeConfigMap(this, 'servers', {
      metadata: meta(stack, `${name}-servers`, labels),
      data: { 'servers.json': serversJson(stack, servers) },
    });

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: meta(stack, name, labels),
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        // One pod owns the session database on its emptyDir: the old pod goes before the new one starts.
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: k8s.IntOrString.fromNumber(0), maxUnavailable: k8s.IntOrString.fromNumber(1) } },
        template: podTemplate({
          labels,
          uid: c.runAsUser,
          pull: stack,
          writablePaths: ['/tmp', '/var/lib/pgadmin', '/var/log/pgadmin', '/run/pgadmin'],
          containers: [
            {
              name: 'pgadmin',
              image,
              env: [
                { name: 'PGADMIN_DEFAULT_EMAIL', value: c.email ?? 'admin@example.com' },
                { name: 'PGADMIN_DEFAULT_PASSWORD_FILE', value: '/run/secrets/pgadmin/password' },
                { name: 'PGADMIN_LISTEN_PORT', value: String(PGADMIN_PORT) },
                { name: 'PGADMIN_DISABLE_POSTFIX', value: 'True' },
                { name: 'PGADMIN_CUSTOM_CONFIG_DISTRO_FILE', value: '/var/lib/pgadmin/config_distro.py' },
                { name: 'PGADMIN_SERVER_JSON_FILE', value: '/etc/pgadmin/servers.json' },
                { name: 'PGADMIN_CONFIG_UPGRADE_CHECK_ENABLED', value: 'False' },
                { name: 'PYTHONDONTWRITEBYTECODE', value: '1' },
              ],
              ports: [{ name: 'http', containerPort: PGADMIN_PORT }],
              resources: c.resources,
              addCapabilities: ['NET_BIND_SERVICE'],
              volumeMounts: [
                { name: 'login', mountPath: '/run/secrets/pgadmin', readOnly: true },
                { name: 'servers', mountPath: '/etc/pgadmin', readOnly: true },
              ],
              startupProbe: httpProbe('/misc/ping', 'http', 5, 3, 36),
              readinessProbe: httpProbe('/misc/ping', 'http', 10, 3, 3),
              livenessProbe: tcpProbe('http', 30, 5, 3),
            },
          ],
          volumes: [
            { name: 'login', secret: { secretName: secretNames.pgadminLogin(name), defaultMode: 0o440 } },
            { name: 'servers', configMap: { name: `${name}-servers` } },
          ],
        }),
      },
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata: meta(stack, name, labels),
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'http', port: PGADMIN_PORT, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP' }] },
    });
  }
}

function serversJson(stack: ResolvedStack, servers: string[]): string {
  const entries: Record<string, object> = {};
  servers.forEach((s, i) => {
    const { host, port } = endpointOf(stack.spec, s);
    entries[String(i + 1)] = { Name: s, Group: stack.name, Host: host, Port: port, MaintenanceDB: 'postgres', Username: 'postgres', SSLMode: 'prefer' };
  });
  return `${JSON.stringify({ Servers: entries }, null, 2)}\n`;
}
