/**
 * Cluster state for the diagnose, status and wait tests: plain objects shaped like the Kubernetes
 * API's JSON, with only the fields the code reads. Times are seconds after T0.
 */
import type { Snapshot } from '../../ops/client';

export const T0 = Date.parse('2025-03-01T12:00:00Z');
export const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();

export function snapshot(parts: Partial<Snapshot> = {}): Snapshot {
  return { deployments: [], statefulSets: [], jobs: [], cronJobs: [], pods: [], claims: [], events: [], ...parts };
}

const labels = (component: string, extra: Record<string, string> = {}) => ({ 'app.kubernetes.io/name': component, 'app.kubernetes.io/part-of': 'dataplatform', ...extra });

export interface RolloutState {
  replicas?: number;
  ready?: number;
  updated?: number;
  /** status.replicas: old and new pods during a rollout. */
  total?: number;
  generation?: number;
  observed?: number;
}

export function deployment(name: string, r: RolloutState = {}, created = at(0)): any {
  const want = r.replicas ?? 1;
  return {
    metadata: { name, labels: labels(name), generation: r.generation ?? 1, creationTimestamp: created },
    spec: { replicas: want },
    status: { observedGeneration: r.observed ?? r.generation ?? 1, replicas: r.total ?? want, readyReplicas: r.ready ?? want, updatedReplicas: r.updated ?? want },
  };
}

export function statefulSet(name: string, r: RolloutState & { currentRevision?: string; updateRevision?: string } = {}, created = at(0)): any {
  const d = deployment(name, r, created);
  return { ...d, status: { ...d.status, currentRevision: r.currentRevision ?? `${name}-1`, updateRevision: r.updateRevision ?? `${name}-1` } };
}

export function job(name: string, component: string, o: { condition?: 'Complete' | 'Failed'; reason?: string; message?: string; created?: string; release?: boolean; ownedBy?: string; manual?: boolean } = {}): any {
  return {
    metadata: {
      name,
      creationTimestamp: o.created ?? at(0),
      labels: labels(component, o.release ? { 'stackport.dev/release-job': component } : {}),
      ...(o.ownedBy ? { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: o.ownedBy, controller: true }] } : {}),
      ...(o.manual ? { annotations: { 'cronjob.kubernetes.io/instantiate': 'manual' } } : {}),
    },
    status: o.condition ? { conditions: [{ type: o.condition, status: 'True', reason: o.reason, message: o.message }], ...(o.condition === 'Complete' ? { completionTime: at(30) } : {}) } : { active: 1 },
  };
}

export function cronJob(name: string, o: { schedule?: string; suspend?: boolean; lastSchedule?: string; lastSuccessful?: string; created?: string } = {}): any {
  return {
    metadata: { name, labels: labels(name), creationTimestamp: o.created ?? at(0) },
    spec: { schedule: o.schedule ?? '0 0 * * *', ...(o.suspend ? { suspend: true } : {}) },
    status: { ...(o.lastSchedule ? { lastScheduleTime: o.lastSchedule } : {}), ...(o.lastSuccessful ? { lastSuccessfulTime: o.lastSuccessful } : {}) },
  };
}

export interface ContainerState {
  name?: string;
  image?: string;
  waiting?: { reason: string; message?: string };
  running?: boolean;
  ready?: boolean;
  restartCount?: number;
  lastExit?: { exitCode: number; reason?: string };
  /** An init container that is a sidecar (restartPolicy Always). */
  sidecar?: boolean;
}

export interface PodOptions {
  created?: string;
  phase?: string;
  /** The Job that started it (label job-name and batch.kubernetes.io/job-name). */
  jobName?: string;
  containers?: ContainerState[];
  inits?: ContainerState[];
  /** A PodScheduled=False/Unschedulable condition since this time. */
  unschedulableSince?: string;
  schedulerMessage?: string;
  claims?: string[];
}

function containerStatus(component: string, c: ContainerState): any {
  const name = c.name ?? component;
  const state = c.waiting ? { waiting: c.waiting } : c.running === false ? { terminated: { exitCode: 0, reason: 'Completed' } } : { running: { startedAt: at(1) } };
  return {
    name,
    image: c.image ?? `stackport.local/${component}:1`,
    ready: c.ready ?? (!c.waiting && c.running !== false),
    restartCount: c.restartCount ?? 0,
    state,
    ...(c.lastExit ? { lastState: { terminated: c.lastExit } } : {}),
  };
}

export function pod(name: string, component: string, o: PodOptions = {}): any {
  const containers = o.containers ?? [{}];
  const inits = o.inits ?? [];
  return {
    metadata: {
      name,
      creationTimestamp: o.created ?? at(0),
      labels: labels(component, o.jobName ? { 'job-name': o.jobName, 'batch.kubernetes.io/job-name': o.jobName } : {}),
    },
    spec: {
      initContainers: inits.map((c) => ({ name: c.name ?? 'init', image: c.image ?? 'busybox:1', ...(c.sidecar ? { restartPolicy: 'Always' } : {}) })),
      containers: containers.map((c) => ({ name: c.name ?? component, image: c.image ?? `stackport.local/${component}:1` })),
      volumes: (o.claims ?? []).map((claimName) => ({ name: claimName, persistentVolumeClaim: { claimName } })),
    },
    status: {
      phase: o.phase ?? (o.unschedulableSince ? 'Pending' : 'Running'),
      startTime: o.unschedulableSince ? undefined : (o.created ?? at(0)),
      conditions: o.unschedulableSince ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', lastTransitionTime: o.unschedulableSince, message: o.schedulerMessage ?? '0/1 nodes are available: 1 Insufficient memory.' }] : [],
      initContainerStatuses: inits.map((c) => containerStatus('init', c)),
      containerStatuses: o.unschedulableSince ? undefined : containers.map((c) => containerStatus(component, c)),
    },
  };
}

export function claim(name: string, o: { storageClass?: string; created?: string; phase?: string } = {}): any {
  return { metadata: { name, creationTimestamp: o.created ?? at(0) }, spec: { ...(o.storageClass ? { storageClassName: o.storageClass } : {}) }, status: { phase: o.phase ?? 'Pending' } };
}

export function event(kind: string, name: string, reason: string, message: string, time = at(5)): any {
  return { involvedObject: { kind, name }, reason, message, lastTimestamp: time, type: 'Warning' };
}
