/**
 * ops/diagnose.ts on fixtures shaped like the Kubernetes API's JSON: when each workload kind counts
 * as up, what it is waiting for, and which states are hopeless at once, which only after a grace,
 * and which never.
 */
import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../../ops/client';
import { diagnose, podDetail, podHopeless, type DiagnoseContext, type Workload } from '../../ops/diagnose';
import { at, claim, cronJob, deployment, event, job, pod, snapshot, statefulSet, T0 } from './fixtures';

/** The deploy started at T0; `now` is seconds after it. */
const ctx = (now: number, extra: Partial<DiagnoseContext> = {}): DiagnoseContext => ({ since: T0, now: T0 + now * 1000, ...extra });
const api: Workload = { kind: 'Deployment', name: 'api', component: 'api' };
const postgres: Workload = { kind: 'StatefulSet', name: 'postgres', component: 'postgres' };
const migrate: Workload = { kind: 'Job', name: 'migrate-3f2a1c', component: 'migrate' };
const worker: Workload = { kind: 'CronJob', name: 'worker', component: 'worker' };
const one = (w: Workload, s: Snapshot, now = 10, extra: Partial<DiagnoseContext> = {}) => diagnose([w], s, ctx(now, extra))[0];
const kindLoad = (image: string) => `kind load docker-image ${image} --name dataplatform`;

describe('Deployment', () => {
  it('is up when the controller has seen the spec and every replica is updated and ready', () => {
    const s = snapshot({ deployments: [deployment('api')], pods: [pod('api-7d9f8-abcde', 'api')] });
    expect(one(api, s)).toEqual({ workload: api, ready: '1/1', up: true, detail: 'ready', restarts: 0, hopeless: undefined });
  });

  it('is rolling while observedGeneration is behind the generation, even with every replica ready', () => {
    const s = snapshot({ deployments: [deployment('api', { generation: 3, observed: 2 })], pods: [pod('api-7d9f8-abcde', 'api')] });
    expect(one(api, s)).toMatchObject({ ready: '1/1', up: false, detail: 'running', hopeless: undefined });
  });

  it('is rolling while updatedReplicas is short, and says what the newest pod is doing', () => {
    const s = snapshot({
      deployments: [deployment('api', { replicas: 2, ready: 2, updated: 1 })],
      pods: [pod('api-old-1', 'api'), pod('api-old-2', 'api'), pod('api-new-1', 'api', { created: at(5), containers: [{ waiting: { reason: 'ContainerCreating' } }] })],
    });
    expect(one(api, s)).toMatchObject({ ready: '2/2', up: false, detail: 'api: ContainerCreating', hopeless: undefined });
  });

  it('is rolling while old and new pods together are more than wanted', () => {
    const s = snapshot({ deployments: [deployment('api', { replicas: 2, total: 3 })], pods: [pod('api-1', 'api')] });
    expect(one(api, s).up).toBe(false);
  });

  it('not created yet', () => {
    expect(one(api, snapshot())).toEqual({ workload: api, ready: '-', up: false, detail: 'not created yet', restarts: 0 });
  });

  it("does not count the pods of a CronJob's Jobs (label job-name) that share its component", () => {
    const crashing = pod('api-cleanup-29012345-xyz', 'api', { jobName: 'api-cleanup-29012345', containers: [{ waiting: { reason: 'CrashLoopBackOff' }, restartCount: 7 }] });
    const s = snapshot({ deployments: [deployment('api', { ready: 0 })], pods: [pod('api-7d9f8-abcde', 'api', { containers: [{ ready: false }] }), crashing] });
    expect(one(api, s)).toMatchObject({ ready: '0/1', up: false, detail: 'api: running, not ready yet', restarts: 0, hopeless: undefined });
  });
});

describe('StatefulSet', () => {
  it('is up with its replica ready on the current revision', () => {
    const s = snapshot({ statefulSets: [statefulSet('postgres')], pods: [pod('postgres-0', 'postgres')] });
    expect(one(postgres, s)).toEqual({ workload: postgres, ready: '1/1', up: true, detail: 'ready', restarts: 0, hopeless: undefined });
  });

  it('is rolling while its pod is not on the update revision yet', () => {
    const s = snapshot({
      statefulSets: [statefulSet('postgres', { ready: 0, updated: 0, currentRevision: 'postgres-1', updateRevision: 'postgres-2' })],
      pods: [pod('postgres-0', 'postgres', { containers: [{ ready: false }] })],
    });
    expect(one(postgres, s)).toMatchObject({ ready: '0/1', up: false, detail: 'postgres: running, not ready yet' });
  });
});

describe('Job', () => {
  it('complete is up', () => {
    const s = snapshot({ jobs: [job('migrate-3f2a1c', 'migrate', { condition: 'Complete', release: true })] });
    expect(one(migrate, s)).toEqual({ workload: migrate, ready: 'complete', up: true, detail: `finished ${at(30)}`, restarts: 0 });
  });

  it("failed is hopeless, with the log of its newest pod", () => {
    const s = snapshot({
      jobs: [job('migrate-3f2a1c', 'migrate', { condition: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit\nmore' })],
      pods: [
        pod('migrate-3f2a1c-first', 'migrate', { jobName: 'migrate-3f2a1c', created: at(1), containers: [{ running: false }] }),
        pod('migrate-3f2a1c-second', 'migrate', { jobName: 'migrate-3f2a1c', created: at(20), containers: [{ running: false }] }),
        pod('migrate-3f2a1c-third', 'migrate', { jobName: 'migrate-3f2a1c', created: at(9), containers: [{ running: false }] }),
      ],
    });
    expect(one(migrate, s)).toEqual({
      workload: migrate,
      ready: 'failed',
      up: false,
      detail: 'BackoffLimitExceeded',
      restarts: 0,
      hopeless: {
        reason: 'Job migrate-3f2a1c failed (BackoffLimitExceeded: Job has reached the specified backoff limit)',
        fix: 'read its log below; fix the cause and run stackport up again (a changed Job runs again)',
        logsOf: { pod: 'migrate-3f2a1c-second', container: 'migrate', previous: false },
      },
    });
  });

  it('running: only its own pods (by job-name), and what they wait for', () => {
    const s = snapshot({
      jobs: [job('migrate-3f2a1c', 'migrate')],
      pods: [
        pod('migrate-3f2a1c-abc', 'migrate', { jobName: 'migrate-3f2a1c', inits: [{ name: 'wait-postgres', running: false }, { name: 'wait-redis' }], containers: [{ waiting: { reason: 'PodInitializing' } }] }),
        pod('migrate-old-abc', 'migrate', { jobName: 'migrate-0ld', containers: [{ waiting: { reason: 'CrashLoopBackOff' }, restartCount: 4 }] }),
      ],
    });
    expect(one(migrate, s)).toEqual({ workload: migrate, ready: 'running', up: false, detail: 'init 2/2 (wait-redis)', restarts: 0, hopeless: undefined });
  });

  it('not created yet', () => {
    expect(one(migrate, snapshot())).toEqual({ workload: migrate, ready: '-', up: false, detail: 'not created yet', restarts: 0 });
  });
});

describe('CronJob', () => {
  it('scheduled, with its last run', () => {
    const s = snapshot({ cronJobs: [cronJob('worker', { lastSchedule: at(-7200), lastSuccessful: at(-3600) })] });
    expect(one(worker, s)).toEqual({ workload: worker, ready: 'scheduled', up: true, detail: '0 0 * * *, last run 2025-03-01T11:00:00.000Z', restarts: 0 });
  });

  it('scheduled, not run yet', () => {
    expect(one(worker, snapshot({ cronJobs: [cronJob('worker', { schedule: '*/5 * * * *' })] }))).toMatchObject({ ready: 'scheduled', up: true, detail: '*/5 * * * *, not run yet' });
  });

  it('suspended is up (nothing to wait for)', () => {
    expect(one(worker, snapshot({ cronJobs: [cronJob('worker', { suspend: true })] }))).toMatchObject({ ready: 'suspended', up: true });
  });

  it('missing is not up', () => {
    expect(one(worker, snapshot())).toMatchObject({ ready: 'missing', up: false, detail: 'not created yet' });
  });
});

describe('podHopeless: images', () => {
  const pulling = (waiting: { reason: string; message?: string }, image = 'stackport.local/dataplatform-api:0.1.0') => pod('api-7d9f8-abcde', 'api', { containers: [{ image, waiting }] });

  it('ErrImageNeverPull is hopeless at once, and the fix names the load command', () => {
    const p = pulling({ reason: 'ErrImageNeverPull', message: 'Container image "stackport.local/dataplatform-api:0.1.0" is not present with pull policy of Never' });
    expect(podHopeless(p, snapshot(), ctx(1, { loadImage: kindLoad }))).toEqual({
      reason:
        'pod api-7d9f8-abcde: the image stackport.local/dataplatform-api:0.1.0 of container api is not in the cluster and cannot be pulled (ErrImageNeverPull: Container image "stackport.local/dataplatform-api:0.1.0" is not present with pull policy of Never)',
      fix: 'build it and load it: kind load docker-image stackport.local/dataplatform-api:0.1.0 --name dataplatform (stackport up does this for components with a build field); or check the name, the tag and the registry credentials (imagePullSecrets)',
    });
  });

  it.each([
    ['not found', 'rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/redis:7.9": failed to resolve reference "docker.io/library/redis:7.9": docker.io/library/redis:7.9: not found'],
    ['no such host', 'failed to resolve reference "registry.internal/redis:7.4": dial tcp: lookup registry.internal on 10.96.0.10:53: no such host'],
  ])('an ErrImagePull saying "%s" is hopeless at once; without a load command the fix says to check the reference', (_, message) => {
    const h = podHopeless(pulling({ reason: 'ErrImagePull', message }, 'redis:7.9'), snapshot(), ctx(1));
    expect(h).toEqual({
      reason: `pod api-7d9f8-abcde: the image redis:7.9 of container api is not in the cluster and cannot be pulled (ErrImagePull: ${message})`,
      fix: 'check the name, the tag and the registry credentials (imagePullSecrets), or load the image into the cluster',
    });
  });

  it('a transient pull error is hopeless only after the grace', () => {
    const p = pulling({ reason: 'ImagePullBackOff', message: 'Back-off pulling image "redis:7.4"' }, 'redis:7.4');
    expect(podHopeless(p, snapshot(), ctx(60))).toBeUndefined();
    expect(podHopeless(p, snapshot(), ctx(91))?.reason).toBe('pod api-7d9f8-abcde: the image redis:7.4 of container api is not in the cluster and cannot be pulled (ImagePullBackOff: Back-off pulling image "redis:7.4")');
  });
});

describe('podHopeless: containers', () => {
  it('CrashLoopBackOff is hopeless from 2 restarts, with the previous log', () => {
    const crashing = (restartCount: number) => pod('api-7d9f8-abcde', 'api', { containers: [{ waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container' }, restartCount, lastExit: { exitCode: 3, reason: 'Error' } }] });
    expect(podHopeless(crashing(1), snapshot(), ctx(10))).toBeUndefined();
    expect(podHopeless(crashing(2), snapshot(), ctx(10))).toEqual({
      reason: 'pod api-7d9f8-abcde: container api keeps crashing (restarted 2 times; last exit 3, Error)',
      fix: 'read its log below (stackport logs api); fix the cause and run stackport up again',
      logsOf: { pod: 'api-7d9f8-abcde', container: 'api', previous: true },
    });
  });

  it('a crashing Deployment sums the restarts of its pods and stops there', () => {
    const crashing = (name: string, restartCount: number) => pod(name, 'api', { containers: [{ waiting: { reason: 'CrashLoopBackOff' }, restartCount }] });
    const s = snapshot({ deployments: [deployment('api', { replicas: 2, ready: 0 })], pods: [crashing('api-1', 1), crashing('api-2', 3)] });
    expect(one(api, s)).toMatchObject({ ready: '0/2', up: false, restarts: 4, hopeless: { logsOf: { pod: 'api-2', container: 'api', previous: true } } });
  });

  it('CreateContainerConfigError is hopeless at once', () => {
    const p = pod('api-7d9f8-abcde', 'api', { containers: [{ waiting: { reason: 'CreateContainerConfigError', message: 'secret "redis-password" not found' } }] });
    expect(podHopeless(p, snapshot(), ctx(1))).toEqual({
      reason: 'pod api-7d9f8-abcde: container api cannot start (CreateContainerConfigError: secret "redis-password" not found)',
      fix: 'a Secret or ConfigMap key it names is missing, or its command is wrong: check the message above',
    });
  });

  it('a container still being created is not hopeless', () => {
    expect(podHopeless(pod('api-1', 'api', { containers: [{ waiting: { reason: 'ContainerCreating' } }] }), snapshot(), ctx(500))).toBeUndefined();
  });
});

describe('podHopeless: scheduling', () => {
  const waitingForClaim = pod('postgres-0', 'postgres', { unschedulableSince: at(1), claims: ['data-postgres-0'], schedulerMessage: '0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims.' });

  it('a claim whose storage class does not exist is hopeless at once, naming the class', () => {
    const s = snapshot({ claims: [claim('data-postgres-0', { storageClass: 'fast' })], events: [event('PersistentVolumeClaim', 'data-postgres-0', 'ProvisioningFailed', 'storageclass.storage.k8s.io "fast" not found', at(2))] });
    expect(podHopeless(waitingForClaim, s, ctx(3))).toEqual({
      reason: 'claim data-postgres-0 is not bound: the storage class "fast" does not exist in this cluster (storageclass.storage.k8s.io "fast" not found)',
      fix: 'list the classes with kubectl get storageclass and set environments.<env>.storageClass in the spec to one of them',
    });
  });

  it("a ProvisioningFailed event from an earlier deploy does not count", () => {
    const s = snapshot({ claims: [claim('data-postgres-0', { storageClass: 'fast' })], events: [event('PersistentVolumeClaim', 'data-postgres-0', 'ProvisioningFailed', 'storageclass.storage.k8s.io "fast" not found', at(-600))] });
    expect(podHopeless(waitingForClaim, s, ctx(3))).toBeUndefined();
  });

  it('a claim naming no class, with no default class, is hopeless after the grace', () => {
    const s = snapshot({ claims: [claim('data-postgres-0')] });
    expect(podHopeless(waitingForClaim, s, ctx(40))).toBeUndefined();
    expect(podHopeless(waitingForClaim, s, ctx(50))?.reason).toBe('claim data-postgres-0 is not bound: it names no storage class and the cluster has no default one');
  });

  it('a plain unschedulable pod is hopeless only after the grace', () => {
    const p = pod('api-7d9f8-abcde', 'api', { unschedulableSince: at(1) });
    expect(podHopeless(p, snapshot(), ctx(30))).toBeUndefined();
    expect(podHopeless(p, snapshot(), ctx(60))).toEqual({
      reason: 'pod api-7d9f8-abcde cannot be scheduled: 0/1 nodes are available: 1 Insufficient memory.',
      fix: 'give the cluster more room (CPU, memory) or lower the requests in the spec (resources)',
    });
  });
});

describe('admission refusals', () => {
  const refused = 'Error creating: pods "api-7d9f8b6c5d-x2x7q" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false';
  const noPods = deployment('api', { ready: 0, updated: 0, total: 0 });

  it("a FailedCreate with PodSecurity on the Deployment's ReplicaSet is a refusal", () => {
    const s = snapshot({ deployments: [noPods], events: [event('ReplicaSet', 'api-7d9f8b6c5d', 'FailedCreate', refused, at(2))] });
    expect(one(api, s)).toEqual({
      workload: api,
      ready: '0/1',
      up: false,
      detail: 'no pod yet',
      restarts: 0,
      hopeless: { reason: `Deployment api: the cluster refuses its pods (${refused})`, fix: "the namespace's Pod Security level does not admit it: see docs/policy.md" },
    });
  });

  it('a FailedCreate of another cause says it is a policy or a quota', () => {
    const s = snapshot({ deployments: [noPods], events: [event('ReplicaSet', 'api-7d9f8b6c5d', 'FailedCreate', 'Error creating: pods "api-7d9f8b6c5d-x" is forbidden: exceeded quota: compute', at(2))] });
    expect(one(api, s).hopeless?.fix).toBe('an admission policy or quota refuses it: see the message');
  });

  it('a FailedCreate from before this deploy is ignored', () => {
    const s = snapshot({ deployments: [noPods], events: [event('ReplicaSet', 'api-7d9f8b6c5d', 'FailedCreate', refused, at(-120))] });
    expect(one(api, s).hopeless).toBeUndefined();
  });

  it("the ReplicaSet of another Deployment whose name starts with this one's is not this one's", () => {
    const s = snapshot({ deployments: [noPods], events: [event('ReplicaSet', 'api-gateway-5c6b7d8f9', 'FailedCreate', refused, at(2))] });
    expect(one(api, s).hopeless).toBeUndefined();
  });

  it('a StatefulSet and a Job are refused through their own events', () => {
    const s = snapshot({
      statefulSets: [statefulSet('postgres', { ready: 0, updated: 0, total: 0 })],
      jobs: [job('migrate-3f2a1c', 'migrate')],
      events: [event('StatefulSet', 'postgres', 'FailedCreate', refused, at(2)), event('Job', 'migrate-3f2a1c', 'FailedCreate', 'admission webhook "validate.kyverno.svc" denied the request', at(2))],
    });
    const [p, m] = diagnose([postgres, migrate], s, ctx(10));
    expect(p.hopeless?.reason).toBe(`StatefulSet postgres: the cluster refuses its pods (${refused})`);
    expect(m.hopeless).toEqual({ reason: 'Job migrate-3f2a1c: the cluster refuses its pods (admission webhook "validate.kyverno.svc" denied the request)', fix: 'an admission policy or quota refuses it: see the message' });
  });
});

describe('podDetail', () => {
  it.each([
    ['no pod', [], 'no pod yet'],
    ['an init container waiting', [pod('p', 'api', { inits: [{ name: 'wait-postgres', waiting: { reason: 'ErrImagePull' } }, { name: 'wait-redis', waiting: { reason: 'PodInitializing' } }] })], 'init 1/2 (wait-postgres: ErrImagePull)'],
    ['an init container initializing', [pod('p', 'api', { inits: [{ name: 'wait-postgres', waiting: { reason: 'PodInitializing' } }] })], 'init 1/1 (wait-postgres)'],
    ['running, not ready', [pod('p', 'api', { containers: [{ ready: false }] })], 'api: running, not ready yet'],
    ['a running sidecar is done initializing', [pod('postgres-0', 'postgres', { inits: [{ name: 'password-sync', sidecar: true }], containers: [{ ready: false }] })], 'postgres: running, not ready yet'],
    ['a sidecar not started yet', [pod('postgres-0', 'postgres', { inits: [{ name: 'password-sync', sidecar: true, waiting: { reason: 'PodInitializing' } }] })], 'init 1/1 (password-sync)'],
    ['pending, not scheduled', [pod('p', 'api', { unschedulableSince: at(0) })], 'pending'],
    ['the newest pod counts', [pod('old', 'api', { containers: [{ waiting: { reason: 'CrashLoopBackOff' } }] }), pod('new', 'api', { created: at(9), containers: [{ waiting: { reason: 'ContainerCreating' } }] })], 'api: ContainerCreating'],
  ])('%s', (_, pods, expected) => {
    expect(podDetail(pods)).toBe(expected);
  });
});

describe('pods of earlier revisions', () => {
  // What the runtime test met: pgAdmin's first pod could not pull its image; the redeploy that fixed
  // the image must be judged on its new pod, not on the old one still being removed.
  const pulling = { containers: [{ waiting: { reason: 'ImagePullBackOff', message: 'failed to pull "dpage/pgadmin4:9.17": not found' } }] };
  const withHash = (p: any, hash: string, extra: Record<string, unknown> = {}) => ({ ...p, metadata: { ...p.metadata, ...extra, labels: { ...p.metadata.labels, 'pod-template-hash': hash } } });
  const rs = (hash: string, revision: string) => ({ metadata: { name: `api-${hash}`, labels: { 'pod-template-hash': hash }, annotations: { 'deployment.kubernetes.io/revision': revision }, ownerReferences: [{ kind: 'Deployment', name: 'api' }] } });
  const rolling = () => {
    const d = deployment('api', { ready: 0, updated: 1, total: 2 });
    d.metadata.annotations = { 'deployment.kubernetes.io/revision': '2' };
    return d;
  };

  it("a Deployment's old ReplicaSet pod does not make the new revision hopeless", () => {
    const s = snapshot({
      deployments: [rolling()],
      replicaSets: [rs('old111', '1'), rs('new222', '2')],
      pods: [withHash(pod('api-old111-a', 'api', pulling), 'old111'), withHash(pod('api-new222-b', 'api', { containers: [{ waiting: { reason: 'ContainerCreating' } }] }), 'new222')],
    });
    const st = one(api, s);
    expect(st.hopeless).toBeUndefined();
    expect(st.detail).toBe('api: ContainerCreating');
  });

  it("the current revision's own pull failure is still hopeless", () => {
    const s = snapshot({ deployments: [rolling()], replicaSets: [rs('old111', '1'), rs('new222', '2')], pods: [withHash(pod('api-new222-b', 'api', pulling), 'new222')] });
    expect(one(api, s).hopeless?.reason).toMatch(/pod api-new222-b: the image .* cannot be pulled/);
  });

  it('judges no pod while the controller has not made the new revision yet', () => {
    const d = rolling();
    d.metadata.generation = 3; // observedGeneration 1: the edit is not processed yet
    const s = snapshot({ deployments: [d], replicaSets: [rs('old111', '1')], pods: [withHash(pod('api-old111-a', 'api', pulling), 'old111')] });
    expect(one(api, s).hopeless).toBeUndefined();
  });

  it('a terminating pod is not judged', () => {
    const s = snapshot({ deployments: [deployment('api', { ready: 0 })], pods: [{ ...pod('api-x', 'api', pulling), metadata: { ...pod('api-x', 'api').metadata, deletionTimestamp: at(5) } }] });
    expect(one(api, s).hopeless).toBeUndefined();
  });

  it("a StatefulSet's pod of another revision is not judged; one of the update revision is", () => {
    const crashing = { containers: [{ waiting: { reason: 'CrashLoopBackOff' }, restartCount: 4 }] };
    const sts = statefulSet('postgres', { ready: 0, currentRevision: 'postgres-1', updateRevision: 'postgres-2' });
    const old = pod('postgres-0', 'postgres', crashing);
    old.metadata.labels['controller-revision-hash'] = 'postgres-1';
    expect(one(postgres, snapshot({ statefulSets: [sts], pods: [old] })).hopeless).toBeUndefined();
    old.metadata.labels['controller-revision-hash'] = 'postgres-2';
    expect(one(postgres, snapshot({ statefulSets: [sts], pods: [old] })).hopeless?.reason).toMatch(/keeps crashing/);
  });
});
