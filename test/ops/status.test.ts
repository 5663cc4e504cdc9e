/** ops/status.ts: the workloads read from the cluster, the age and URL columns, and the table. */
import { describe, expect, it } from 'vitest';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
import { age, liveWorkloads, statusRows, statusTable, urlOf } from '../../ops/status';
import { at, cronJob, deployment, job, pod, snapshot, statefulSet, T0 } from './fixtures';

const stack = resolveStack(referenceStack, 'kind');

describe('liveWorkloads', () => {
  it("lists Deployments, StatefulSets, CronJobs and the release Jobs, not the Jobs a CronJob or stackport run started", () => {
    const s = snapshot({
      deployments: [deployment('dashboard'), deployment('api')],
      statefulSets: [statefulSet('postgres')],
      cronJobs: [cronJob('worker')],
      jobs: [job('worker-29012345', 'worker', { ownedBy: 'worker' }), job('migrate-3f2a1c', 'migrate', { release: true }), job('worker-run-20250301120000', 'worker', { manual: true })],
    });
    expect(liveWorkloads(s)).toEqual([
      { kind: 'Deployment', name: 'api', component: 'api' },
      { kind: 'Deployment', name: 'dashboard', component: 'dashboard' },
      { kind: 'Job', name: 'migrate-3f2a1c', component: 'migrate' },
      { kind: 'StatefulSet', name: 'postgres', component: 'postgres' },
      { kind: 'CronJob', name: 'worker', component: 'worker' },
    ]);
  });

  it('a component with two kinds is listed once per kind, CronJob first', () => {
    const s = snapshot({ statefulSets: [statefulSet('postgres')], cronJobs: [{ ...cronJob('postgres-backup'), metadata: { ...cronJob('postgres-backup').metadata, labels: { 'app.kubernetes.io/name': 'postgres' } } }] });
    expect(liveWorkloads(s).map((w) => `${w.component} ${w.kind} ${w.name}`)).toEqual(['postgres CronJob postgres-backup', 'postgres StatefulSet postgres']);
  });
});

describe('age', () => {
  it.each([
    [undefined, '-'],
    [at(0), '0s'],
    [at(-119), '119s'],
    [at(-120), '2m'],
    [at(-7199), '120m'],
    [at(-7200), '2h'],
    [at(-172799), '48h'],
    [at(-172800), '2d'],
    [at(-30 * 86400), '30d'],
    // A clock a little behind the cluster's does not make a negative age.
    [at(5), '0s'],
  ])('%s → %s', (since, expected) => {
    expect(age(since, T0)).toBe(expected);
  });

  it('takes a Date too', () => {
    expect(age(new Date(T0 - 90_000), T0)).toBe('90s');
  });
});

describe('urlOf', () => {
  it.each([
    ['api', 'https://dataplatform.localtest.me/api'],
    ['dashboard', 'https://dataplatform.localtest.me/'],
    ['pgadmin', 'stackport open pgadmin'],
    ['postgres', ''],
    ['worker', ''],
    ['gone', ''],
  ])('%s → %s', (component, url) => {
    expect(urlOf(stack, component)).toBe(url);
  });
});

describe('statusRows and statusTable', () => {
  const cluster = (workerJobs: any[]) =>
    snapshot({
      deployments: [deployment('api', { replicas: 2 }, at(-3 * 86400))],
      statefulSets: [statefulSet('postgres', {}, at(-3 * 86400))],
      cronJobs: [cronJob('worker', { created: at(-3 * 86400), lastSchedule: at(-3 * 3600) })],
      jobs: [job('migrate-3f2a1c', 'migrate', { release: true, condition: 'Complete', created: at(-600) }), ...workerJobs],
      pods: [
        pod('api-7d9f8-a', 'api', { containers: [{ restartCount: 1 }] }),
        pod('api-7d9f8-b', 'api', { containers: [{ restartCount: 2 }] }),
        pod('postgres-0', 'postgres'),
        // A worker run's pod: the worker's, not counted anywhere as a restart of a workload.
        pod('worker-29012345-x', 'worker', { jobName: 'worker-29012345', containers: [{ restartCount: 5, running: false }] }),
      ],
    });

  it("one row per workload, restarts summed over the pods, the CronJob's last run from the Job it owns", () => {
    const { rows, states } = statusRows(stack, cluster([job('worker-29012345', 'worker', { ownedBy: 'worker', condition: 'Complete', created: at(-3 * 3600) })]), T0);
    expect(rows).toEqual([
      { component: 'api', kind: 'Deployment', ready: '2/2', restarts: 3, age: '3d', url: 'https://dataplatform.localtest.me/api', lastRun: '' },
      { component: 'migrate', kind: 'Job', ready: 'complete', restarts: 0, age: '10m', url: '', lastRun: '' },
      { component: 'postgres', kind: 'StatefulSet', ready: '1/1', restarts: 0, age: '3d', url: '', lastRun: '' },
      { component: 'worker', kind: 'CronJob', ready: 'scheduled', restarts: 0, age: '3d', url: '', lastRun: '3h ago, succeeded' },
    ]);
    expect(states.every((s) => s.up && !s.hopeless)).toBe(true);
    expect(statusTable(rows)).toBe(
      [
        'COMPONENT  KIND         READY      RESTARTS  AGE  URL                                    LAST RUN',
        'api        Deployment   2/2        3         3d   https://dataplatform.localtest.me/api',
        'migrate    Job          complete   0         10m',
        'postgres   StatefulSet  1/1        0         3d',
        'worker     CronJob      scheduled  0         3d                                          3h ago, succeeded',
      ].join('\n'),
    );
  });

  it('a newer manual run (stackport run) is the last run; a failed one says so', () => {
    const owned = job('worker-29012345', 'worker', { ownedBy: 'worker', condition: 'Complete', created: at(-3 * 3600) });
    const running = job('worker-run-20250301115000', 'worker', { manual: true, created: at(-600) });
    expect(statusRows(stack, cluster([owned, running]), T0).rows[3].lastRun).toBe('10m ago, running');
    const failed = job('worker-run-20250301115000', 'worker', { manual: true, created: at(-600), condition: 'Failed', reason: 'BackoffLimitExceeded' });
    expect(statusRows(stack, cluster([failed, owned]), T0).rows[3].lastRun).toBe('10m ago, failed');
  });

  it('a Job neither owned by the CronJob nor a manual run of its component is not its run', () => {
    const other = job('worker-migrate-x', 'worker', { created: at(-60), condition: 'Failed' });
    const manualOfOther = job('api-run-1', 'api', { manual: true, created: at(-60) });
    expect(statusRows(stack, cluster([other, manualOfOther]), T0).rows[3].lastRun).toBe('not run yet');
  });

  it('an empty namespace has no rows', () => {
    expect(statusRows(stack, snapshot(), T0)).toEqual({ rows: [], states: [] });
  });
});
