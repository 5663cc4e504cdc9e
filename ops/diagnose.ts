/**
 * Reading a stack's state: for each workload, whether it is up, what it is waiting for, and whether
 * it can still get there. A state is hopeless when waiting longer cannot fix it (an image the cluster
 * cannot get, a container that keeps crashing, a claim no storage class can serve, a pod the
 * admission policy refuses, a failed Job); `stackport up` stops at the first one with the reason and
 * the fix. Pure: the snapshot comes from ops/client.ts.
 */
import type { Snapshot } from './client';

export interface Workload {
  readonly kind: 'Deployment' | 'StatefulSet' | 'Job' | 'CronJob';
  readonly name: string;
  /** The component (app.kubernetes.io/name). */
  readonly component: string;
}

export interface Hopeless {
  readonly reason: string;
  readonly fix: string;
  /** Where the last log lines come from, when they tell why. */
  readonly logsOf?: { readonly pod: string; readonly container: string; readonly previous: boolean };
}

export interface WorkloadState {
  readonly workload: Workload;
  /** e.g. "1/1", "complete", "scheduled". */
  readonly ready: string;
  readonly up: boolean;
  /** What it is doing or waiting for, one short phrase. */
  readonly detail: string;
  readonly restarts: number;
  readonly hopeless?: Hopeless;
}

export interface DiagnoseContext {
  /** Events older than this (ms since the epoch) belong to an earlier deploy. */
  readonly since: number;
  readonly now: number;
  /** How a missing image gets into this cluster, e.g. "kind load docker-image IMAGE --name dataplatform". */
  readonly loadImage?: (image: string) => string;
}

/** Pull failures that retrying cannot fix; other pull errors (a slow registry) get PULL_GRACE_MS. */
// A registry whose name does not resolve will not resolve on the next retry either.
const PULL_FATAL = /not found|manifest unknown|denied|unauthorized|no such host|does not exist|invalid reference|ErrImageNeverPull|dial tcp: lookup /i;
const PULL_GRACE_MS = 60_000;
const UNSCHEDULABLE_GRACE_MS = 45_000;
const CRASHES = 2;

const time = (t: unknown) => (t ? new Date(t as string).getTime() : 0);

/**
 * The pods that say how the workload's current revision is doing. A pod of an earlier revision (the
 * crash a redeploy is fixing, the image it replaces) or one already terminating says nothing about
 * it: a Deployment's pods are those of its current ReplicaSet (matched by revision), a StatefulSet's
 * those of its update revision. Without ReplicaSets in the snapshot every live pod counts.
 */
function podsOf(w: Workload, s: Snapshot, o?: any): any[] {
  const label = (p: any, k: string) => p.metadata?.labels?.[k];
  // Pods carry their revision's label; one without it is not known to be old.
  const ofRevision = (k: string, revision: string) => (p: any) => label(p, k) === undefined || label(p, k) === revision;
  const live = s.pods.filter((p) => !p.metadata?.deletionTimestamp);
  if (w.kind === 'Job') return live.filter((p) => label(p, 'batch.kubernetes.io/job-name') === w.name || label(p, 'job-name') === w.name);
  const own = live.filter((p) => label(p, 'app.kubernetes.io/name') === w.component && !label(p, 'job-name'));
  if (w.kind === 'StatefulSet') {
    const revision = o?.status?.updateRevision;
    return revision ? own.filter(ofRevision('controller-revision-hash', revision)) : own;
  }
  if (w.kind !== 'Deployment' || !o) return own;
  const mine = (s.replicaSets ?? []).filter((r) => (r.metadata?.ownerReferences ?? []).some((x: any) => x.kind === 'Deployment' && x.name === w.name));
  if (mine.length === 0) return own;
  const revision = o.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  const current = mine.find((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === revision);
  // The controller has not made this revision's ReplicaSet yet: no pod of it to judge.
  if (!current || (o.status?.observedGeneration ?? 0) < (o.metadata?.generation ?? 0)) return [];
  const hash = current.metadata?.labels?.['pod-template-hash'];
  return hash ? own.filter(ofRevision('pod-template-hash', hash)) : own;
}

/** The pod-level reason a workload cannot come up, if any. */
export function podHopeless(pod: any, s: Snapshot, c: DiagnoseContext): Hopeless | undefined {
  const name = pod.metadata?.name ?? '?';
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const cs of statuses) {
    const waiting = cs.state?.waiting;
    if (!waiting) continue;
    const spec = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((x: any) => x.name === cs.name);
    const image = spec?.image ?? cs.image;
    if (/ErrImagePull|ImagePullBackOff|ErrImageNeverPull|InvalidImageName/.test(waiting.reason ?? '')) {
      const age = c.now - time(pod.status?.startTime ?? pod.metadata?.creationTimestamp);
      if (PULL_FATAL.test(`${waiting.reason} ${waiting.message ?? ''}`) || age > PULL_GRACE_MS) {
        return {
          reason: `pod ${name}: the image ${image} of container ${cs.name} is not in the cluster and cannot be pulled (${waiting.reason}${waiting.message ? `: ${firstLine(waiting.message)}` : ''})`,
          fix: c.loadImage
            ? `build it and load it: ${c.loadImage(image)} (stackport up does this for components with a build field); or check the name, the tag and the registry credentials (imagePullSecrets)`
            : 'check the name, the tag and the registry credentials (imagePullSecrets), or load the image into the cluster',
        };
      }
    }
    if (waiting.reason === 'CrashLoopBackOff' && (cs.restartCount ?? 0) >= CRASHES) {
      return {
        reason: `pod ${name}: container ${cs.name} keeps crashing (restarted ${cs.restartCount} times; last exit ${cs.lastState?.terminated?.exitCode ?? '?'}${cs.lastState?.terminated?.reason ? `, ${cs.lastState.terminated.reason}` : ''})`,
        fix: `read its log below (stackport logs ${pod.metadata?.labels?.['app.kubernetes.io/name'] ?? name}); fix the cause and run stackport up again`,
        logsOf: { pod: name, container: cs.name, previous: true },
      };
    }
    if (/CreateContainerConfigError|CreateContainerError|RunContainerError/.test(waiting.reason ?? '')) {
      return { reason: `pod ${name}: container ${cs.name} cannot start (${waiting.reason}: ${firstLine(waiting.message ?? '')})`, fix: 'a Secret or ConfigMap key it names is missing, or its command is wrong: check the message above' };
    }
  }
  const scheduled = (pod.status?.conditions ?? []).find((x: any) => x.type === 'PodScheduled');
  if (pod.status?.phase === 'Pending' && scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    for (const v of pod.spec?.volumes ?? []) {
      const claimName = v.persistentVolumeClaim?.claimName;
      const claim = claimName && s.claims.find((x: any) => x.metadata?.name === claimName);
      if (claim && claim.status?.phase !== 'Bound') {
        const cls = claim.spec?.storageClassName;
        const failed = s.events.find((e: any) => e.involvedObject?.kind === 'PersistentVolumeClaim' && e.involvedObject?.name === claimName && /ProvisioningFailed/.test(e.reason ?? '') && eventTime(e) >= c.since);
        const noClass = failed && /not found/.test(failed.message ?? '');
        if (noClass || (c.now - time(claim.metadata?.creationTimestamp) > UNSCHEDULABLE_GRACE_MS && !cls)) {
          return {
            reason: `claim ${claimName} is not bound: ${cls ? `the storage class "${cls}" ${noClass ? 'does not exist in this cluster' : 'cannot provision it'}` : 'it names no storage class and the cluster has no default one'}${failed ? ` (${firstLine(failed.message)})` : ''}`,
            fix: `list the classes with kubectl get storageclass and set environments.<env>.storageClass in the spec to one of them`,
          };
        }
      }
    }
    if (c.now - time(scheduled.lastTransitionTime) > UNSCHEDULABLE_GRACE_MS) {
      return { reason: `pod ${name} cannot be scheduled: ${firstLine(scheduled.message ?? '')}`, fix: 'give the cluster more room (CPU, memory) or lower the requests in the spec (resources)' };
    }
  }
  return undefined;
}

function eventTime(e: any): number {
  return time(e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp);
}

/** A refusal of the workload's pods by admission (Pod Security, quotas, policy engines). */
function refused(w: Workload, s: Snapshot, c: DiagnoseContext, controllers: string[]): Hopeless | undefined {
  const e = s.events.find((x: any) => x.reason === 'FailedCreate' && controllers.includes(`${x.involvedObject?.kind}/${x.involvedObject?.name}`) && eventTime(x) >= c.since);
  if (!e) return undefined;
  return { reason: `${w.kind} ${w.name}: the cluster refuses its pods (${firstLine(e.message ?? '')})`, fix: /PodSecurity/.test(e.message ?? '') ? "the namespace's Pod Security level does not admit it: see docs/policy.md" : 'an admission policy or quota refuses it: see the message' };
}

export function diagnose(workloads: readonly Workload[], s: Snapshot, c: DiagnoseContext): WorkloadState[] {
  return workloads.map((w) => {
    const list = w.kind === 'Deployment' ? s.deployments : w.kind === 'StatefulSet' ? s.statefulSets : [];
    const pods = podsOf(w, s, list.find((x) => x.metadata?.name === w.name));
    const restarts = pods.reduce((n, p) => n + (p.status?.containerStatuses ?? []).reduce((m: number, cs: any) => m + (cs.restartCount ?? 0), 0), 0);
    const podProblem = () => pods.map((p) => podHopeless(p, s, c)).find(Boolean);
    const waitingFor = () => podDetail(pods);
    if (w.kind === 'CronJob') {
      const cj = s.cronJobs.find((x) => x.metadata?.name === w.name);
      const last = cj?.status?.lastSuccessfulTime ?? cj?.status?.lastScheduleTime;
      return { workload: w, ready: cj ? (cj.spec?.suspend ? 'suspended' : 'scheduled') : 'missing', up: Boolean(cj), detail: cj ? `${cj.spec?.schedule}${last ? `, last run ${new Date(last).toISOString()}` : ', not run yet'}` : 'not created yet', restarts };
    }
    if (w.kind === 'Job') {
      const job = s.jobs.find((x) => x.metadata?.name === w.name);
      if (!job) return { workload: w, ready: '-', up: false, detail: 'not created yet', restarts };
      const cond = (t: string) => (job.status?.conditions ?? []).find((x: any) => x.type === t && x.status === 'True');
      if (cond('Complete')) return { workload: w, ready: 'complete', up: true, detail: `finished ${job.status?.completionTime ?? ''}`.trim(), restarts };
      const failed = cond('Failed');
      if (failed) {
        const pod = [...pods].sort((a, b) => time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp))[0];
        const container = pod?.spec?.containers?.[0]?.name;
        return { workload: w, ready: 'failed', up: false, detail: failed.reason ?? 'failed', restarts, hopeless: { reason: `Job ${w.name} failed (${failed.reason}: ${firstLine(failed.message ?? '')})`, fix: `read its log below; fix the cause and run stackport up again (a changed Job runs again)`, logsOf: pod && container ? { pod: pod.metadata.name, container, previous: false } : undefined } };
      }
      return { workload: w, ready: 'running', up: false, detail: waitingFor(), restarts, hopeless: podProblem() ?? refused(w, s, c, [`Job/${w.name}`]) };
    }
    const o = list.find((x) => x.metadata?.name === w.name);
    if (!o) return { workload: w, ready: '-', up: false, detail: 'not created yet', restarts };
    const want = o.spec?.replicas ?? 1;
    const ready = o.status?.readyReplicas ?? 0;
    const updated = o.status?.updatedReplicas ?? 0;
    const current = (o.status?.observedGeneration ?? 0) >= (o.metadata?.generation ?? 0);
    const up = current && ready >= want && updated >= want && (w.kind === 'Deployment' ? (o.status?.replicas ?? 0) === want : o.status?.currentRevision === o.status?.updateRevision || updated >= want);
    const controllers = w.kind === 'StatefulSet' ? [`StatefulSet/${w.name}`] : replicaSetsOf(o, s);
    return { workload: w, ready: `${ready}/${want}`, up, detail: up ? 'ready' : waitingFor(), restarts, hopeless: up ? undefined : (podProblem() ?? refused(w, s, c, controllers)) };
  });
}

/**
 * The ReplicaSets a Deployment's FailedCreate events name: `<deployment>-<hash>`. The hash has no
 * dash, so `api-gateway-<hash>` is api-gateway's, not api's.
 */
function replicaSetsOf(d: any, s: Snapshot): string[] {
  const prefix = `${d.metadata?.name}-`;
  const ours = (name: string) => name.startsWith(prefix) && /^[a-z0-9]+$/.test(name.slice(prefix.length));
  return [...new Set(s.events.filter((e: any) => e.involvedObject?.kind === 'ReplicaSet' && ours(e.involvedObject?.name ?? '')).map((e: any) => `ReplicaSet/${e.involvedObject.name}`))];
}

/** What the workload's newest pod is doing, e.g. "pulling image", "init 1/3", "starting". */
export function podDetail(pods: any[]): string {
  const pod = [...pods].sort((a, b) => time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp))[0];
  if (!pod) return 'no pod yet';
  const inits = pod.status?.initContainerStatuses ?? [];
  // A sidecar (restartPolicy Always, e.g. password-sync) is done initializing once it runs; it never terminates.
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((x: any) => x.restartPolicy === 'Always').map((x: any) => x.name));
  const running = inits.findIndex((x: any) => !(sidecars.has(x.name) ? x.state?.running : x.state?.terminated));
  if (running >= 0) {
    const w = inits[running].state?.waiting?.reason;
    return `init ${running + 1}/${inits.length} (${inits[running].name}${w && w !== 'PodInitializing' ? `: ${w}` : ''})`;
  }
  for (const cs of pod.status?.containerStatuses ?? []) {
    if (cs.state?.waiting) return `${cs.name}: ${cs.state.waiting.reason ?? 'waiting'}`;
    if (cs.state?.running && !cs.ready) return `${cs.name}: running, not ready yet`;
  }
  if (pod.status?.phase === 'Pending') return 'pending';
  return pod.status?.phase?.toLowerCase() ?? 'starting';
}

function firstLine(s: string): string {
  const l = s.split('\n')[0].trim();
  return l.length > 300 ? `${l.slice(0, 297)}...` : l;
}
