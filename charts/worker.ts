import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { WorkerComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { labelsFor, meta, selectorFor } from './labels';
import { addMounts } from './mounts';
import { liveSyncPaths } from './live-sync';
import { httpProbe, podTemplate, tcpProbe } from './pod';
import { probesOr } from './probes';
import { waitForJobs, waitForServers } from './waits';
import { appContainer, disruptionBudget, needsRecreate } from './workload';

export interface WorkerProps {
  readonly stack: ResolvedStack;
  readonly component: Resolved<WorkerComponent>;
}

/** The command that starts a scheduled worker right now, outside its schedule. */
export function runNowCommand(stack: ResolvedStack, name: string): string {
  return `kubectl -n ${stack.namespace} create job --from=cronjob/${name} ${name}-manual-$(date +%s)`;
}

/**
 * The data worker (ingestion, retention clean-up, feature pipeline). Scheduled mode: a CronJob that
 * never overlaps a still-running run (`Forbid`), gives up on runs it missed by more than the
 * starting deadline, kills runs that exceed the active deadline and keeps a short history; the
 * `stackport.dev/run-now` annotation holds the command that runs it immediately. Continuous mode:
 * a Deployment probed on its health port, with a headless Service for its DNS name and the ports
 * it serves to the stack (a task broker its runners dial); with more than one replica, spread over
 * nodes and covered by a PodDisruptionBudget, like a web service.
 */
export class Worker extends Construct {
  readonly cronJob?: k8s.KubeCronJob;
  readonly deployment?: k8s.KubeDeployment;
  /** Continuous mode: headless, for DNS. */
  readonly service?: k8s.KubeService;
  /** Continuous mode with more than one replica. */
  readonly disruptionBudget?: k8s.KubePodDisruptionBudget;

  constructor(scope: Construct, id: string, props: WorkerProps) {
    super(scope, id);
    const { stack, component: c } = props;
    const labels = labelsFor(stack, c.name, 'worker', c.image);
    const mounts = addMounts(this, stack, c, labels);
    const pod = {
      labels,
      volumes: mounts.volumes,
      initContainers: [...waitForJobs(stack, c), ...mounts.initContainers],
      writablePaths: c.writablePaths,
      uid: c.runAsUser,
      pull: stack,
    };

    if (c.mode === 'continuous') {
      const selector = selectorFor(stack, c.name);
      const multi = c.replicas > 1;
      const http = c.healthPort !== undefined && c.healthPath ? { path: c.healthPath, port: 'health' } : undefined;
      const served = [...(c.healthPort !== undefined ? [{ name: 'health', port: c.healthPort }] : []), ...(c.ports ?? [])];
      const app = appContainer(stack, c, {
        ports: served.length > 0 ? served.map((p) => ({ name: p.name, containerPort: p.port })) : undefined,
        ...probesOr(c.probe, http, () => ({
          startupProbe: httpProbe(c.healthPath!, 'health', 5, 2, 24),
          readinessProbe: httpProbe(c.healthPath!, 'health', 10, 2, 3),
          livenessProbe: c.livenessPath ? httpProbe(c.livenessPath, 'health', 30, 5, 3) : tcpProbe('health', 30, 5, 3),
        }), c.healthPort !== undefined ? 'health' : undefined),
        volumeMounts: mounts.volumeMounts,
      });
      this.deployment = new k8s.KubeDeployment(this, 'deployment', {
        metadata: meta(stack, c.name, labels),
        spec: {
          replicas: c.replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: selector },
          strategy: needsRecreate(stack, c)
            ? { type: 'Recreate' }
            : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) } },
          template: podTemplate({
            ...pod,
            containers: [app],
            terminationGracePeriodSeconds: c.terminationGracePeriodSeconds ?? 60,
            topologySpread: multi ? selector : undefined,
            liveSync: { container: c.name, paths: liveSyncPaths(stack, c) },
          }),
        },
      });
      // A headless Service gives the worker's pods a DNS name even when it serves no port, as compose did.
      this.service = new k8s.KubeService(this, 'service', {
        metadata: meta(stack, c.name, labels),
        spec: {
          clusterIp: 'None',
          selector,
          ports: served.length > 0 ? served.map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.name), protocol: 'TCP' })) : undefined,
        },
      });
      if (multi) this.disruptionBudget = disruptionBudget(this, stack, c.name, labels, selector);
      return;
    }

    this.cronJob = new k8s.KubeCronJob(this, 'cronjob', {
      metadata: meta(stack, c.name, labels, { 'stackport.dev/run-now': runNowCommand(stack, c.name) }),
      spec: {
        schedule: c.schedule ?? '0 0 * * *',
        timeZone: c.timeZone ?? 'Etc/UTC',
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: c.startingDeadlineSeconds ?? 300,
        successfulJobsHistoryLimit: c.history?.successful ?? 3,
        failedJobsHistoryLimit: c.history?.failed ?? 3,
        suspend: false,
        jobTemplate: {
          metadata: { labels },
          spec: {
            backoffLimit: c.backoffLimit ?? 2,
            activeDeadlineSeconds: c.activeDeadlineSeconds ?? 7200,
            template: podTemplate({
              ...pod,
              initContainers: [...waitForServers(stack, c), ...pod.initContainers],
              containers: [appContainer(stack, c, { volumeMounts: mounts.volumeMounts })],
              // A failed run restarts in the same pod, whose network is programmed by then (see waits.ts).
              restartPolicy: 'OnFailure',
              terminationGracePeriodSeconds: c.terminationGracePeriodSeconds,
            }),
          },
        },
      },
    });
  }
}
