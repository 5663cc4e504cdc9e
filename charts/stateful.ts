import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { StatefulComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { labelsFor, selectorFor } from './labels';
import { dataService } from './data-service';
import { addMounts } from './mounts';
import { podTemplate } from './pod';
import { probesFrom } from './probes';
import { appEnv } from './workload';

export interface StatefulProps {
  readonly stack: ResolvedStack;
  readonly component: Resolved<StatefulComponent>;
}

/**
 * A server that keeps data and has no dedicated construct (MySQL, MariaDB, MongoDB): a
 * StatefulSet with one claim template per data directory, retained when the set is deleted or
 * scaled down; a headless Service for the pod's stable name and a client Service on every port.
 * The pod is hardened like every other (charts/pod.ts); probes default to a TCP connect on the
 * first port, since each server answers its own protocol.
 */
export class Stateful extends Construct {
  readonly statefulSet: k8s.KubeStatefulSet;
  readonly service: k8s.KubeService;

  constructor(scope: Construct, id: string, props: StatefulProps) {
    super(scope, id);
    const { stack, component: c } = props;
    const name = c.name;
    const labels = labelsFor(stack, name, 'database', c.image);
    const selector = selectorFor(stack, name);
    const mounts = addMounts(this, stack, c, labels);
    const data = c.data ?? [];


    const probes = c.probe === false ? {} : probesFrom(c.probe ?? {}, undefined, c.ports[0].port, c.ports[0].port);
    ({ statefulSet: this.statefulSet, service: this.service } = dataService(this, {
      stack,
      name,
      labels,
      selector,
      ports: c.ports,
      claims: data.map((d) => ({ name: d.name, storage: d.storage ?? '1Gi' })),
      template: podTemplate({
        labels,
        uid: c.runAsUser,
        pull: stack,
        writablePaths: c.writablePaths,
        terminationGracePeriodSeconds: c.terminationGracePeriodSeconds ?? 60,
        volumes: mounts.volumes,
        initContainers: mounts.initContainers,
        containers: [
          {
            name,
            image: c.image,
            command: c.command,
            args: c.args,
            env: appEnv(stack, c),
            envFrom: c.envFrom,
            ports: c.ports.map((p) => ({ name: p.name, containerPort: p.port })),
            resources: c.resources,
            volumeMounts: [...data.map((d) => ({ name: d.name, mountPath: d.path })), ...mounts.volumeMounts],
            ...probes,
          },
        ],
      }),
    }));
  }
}
