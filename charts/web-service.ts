import { Construct } from 'constructs';
import { k8s } from './k8s';
import type { WebComponent } from '../model/schema';
import type { Resolved, ResolvedStack } from '../model/presets';
import { labelsFor, meta, selectorFor } from './labels';
import { addMounts } from './mounts';
import { liveSyncPaths } from './live-sync';
import { httpProbe, podTemplate, tcpProbe } from './pod';
import { probesOr } from './probes';
import { waitForJobs } from './waits';
import { appContainer, disruptionBudget, needsRecreate } from './workload';

export interface WebServiceProps {
  readonly stack: ResolvedStack;
  /** The API or the dashboard, with its environment applied. */
  readonly component: Resolved<WebComponent>;
}

/** Seconds a sticky client stays on its pod (Streamlit sessions live in the pod's memory). */
const STICKY_SECONDS = 10800;

/**
 * An HTTP service (FastAPI API, Streamlit/Dash dashboard): Deployment + ClusterIP Service.
 * Startup, readiness and liveness probes on the health path; preStop sleep and a termination grace
 * period so in-flight requests finish; rolling updates that never drop below the desired count.
 * With more than one replica: HPA, PodDisruptionBudget, spread over nodes, and session affinity
 * for sticky (dashboard) services.
 */
export class WebService extends Construct {
  readonly deployment: k8s.KubeDeployment;
  readonly service: k8s.KubeService;
  readonly autoscaler?: k8s.KubeHorizontalPodAutoscalerV2;
  readonly disruptionBudget?: k8s.KubePodDisruptionBudget;

  constructor(scope: Construct, id: string, props: WebServiceProps) {
    super(scope, id);
    const { stack, component: c } = props;
    const role = c.role ?? 'api';
    const labels = labelsFor(stack, c.name, role, c.image);
    const selector = selectorFor(stack, c.name);
    const multi = c.replicas > 1;
    const preStop = c.preStopSleepSeconds ?? 5;
    const sticky = (c.stickySessions ?? role === 'dashboard') && multi;
    const websockets = c.websockets ?? role === 'dashboard';

    const http = c.healthPath ? { path: c.healthPath, port: 'http' } : undefined;
    const mounts = addMounts(this, stack, c, labels);
    const app = appContainer(stack, c, {
      ports: [{ name: 'http', containerPort: c.port }, ...(c.extraPorts ?? []).map((p) => ({ name: p.name, containerPort: p.port }))],
      // Startup allows two minutes for imports and model loading. Liveness is a different, cheaper
      // check, so a failing dependency takes pods out of rotation without restarting them all.
      ...probesOr(c.probe, http, () => ({
        startupProbe: httpProbe(c.healthPath!, 'http', 5, 2, 24),
        readinessProbe: httpProbe(c.healthPath!, 'http', 10, 2, 3),
        livenessProbe: c.livenessPath ? httpProbe(c.livenessPath, 'http', 20, 5, 3) : tcpProbe('http', 20, 5, 3),
      }), 'http'),
      volumeMounts: mounts.volumeMounts,
      lifecycle: preStop > 0 ? { preStop: { exec: { command: ['sleep', String(preStop)] } } } : undefined,
    });

    this.deployment = new k8s.KubeDeployment(this, 'deployment', {
      metadata: meta(stack, c.name, labels),
      spec: {
        // Left to the autoscaler when there is one, so an apply does not reset its decision.
        replicas: multi ? undefined : c.replicas,
        revisionHistoryLimit: 5,
        selector: { matchLabels: selector },
        strategy: needsRecreate(stack, c)
          ? { type: 'Recreate' }
          : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromNumber(1) } },
        template: podTemplate({
          labels,
          containers: [app],
          volumes: mounts.volumes,
          initContainers: [...waitForJobs(stack, c), ...mounts.initContainers],
          writablePaths: c.writablePaths,
          uid: c.runAsUser,
          pull: stack,
          terminationGracePeriodSeconds: (c.terminationGracePeriodSeconds ?? 30) + preStop,
          topologySpread: multi ? selector : undefined,
          liveSync: { container: c.name, paths: liveSyncPaths(stack, c) },
        }),
      },
    });

    this.service = new k8s.KubeService(this, 'service', {
      metadata: meta(stack, c.name, labels),
      spec: {
        type: 'ClusterIP',
        selector,
        // kubernetes.io/ws tells Gateway API implementations to allow the WebSocket upgrade (GEP-1911).
        ports: [
          { name: 'http', port: c.port, targetPort: k8s.IntOrString.fromString('http'), protocol: 'TCP', appProtocol: websockets ? 'kubernetes.io/ws' : 'http' },
          ...(c.extraPorts ?? []).map((p) => ({ name: p.name, port: p.port, targetPort: k8s.IntOrString.fromString(p.name), protocol: 'TCP' })),
        ],
        sessionAffinity: sticky ? 'ClientIP' : 'None',
        sessionAffinityConfig: sticky ? { clientIp: { timeoutSeconds: STICKY_SECONDS } } : undefined,
      },
    });

    if (multi) {
      this.autoscaler = new k8s.KubeHorizontalPodAutoscalerV2(this, 'hpa', {
        metadata: meta(stack, c.name, labels),
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: c.name },
          minReplicas: c.replicas,
          maxReplicas: Math.max(c.autoscaling?.maxReplicas ?? c.replicas * 3, c.replicas),
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: c.autoscaling?.cpuUtilization ?? 70 } } }],
        },
      });
      this.disruptionBudget = disruptionBudget(this, stack, c.name, labels, selector);
    }
  }
}
