/**
 * ops/wait.ts with a client that replays snapshots and a non-terminal output: the lines printed as
 * the stack comes up, and the errors when it cannot or does not in time.
 */
import { describe, expect, it } from 'vitest';
import type { Snapshot, StackClient } from '../../ops/client';
import type { Workload } from '../../ops/diagnose';
import { OpsError } from '../../ops/exec';
import { waitForStack } from '../../ops/wait';
import { deployment, job, pod, snapshot } from './fixtures';

const workloads: Workload[] = [
  { kind: 'Deployment', name: 'api', component: 'api' },
  { kind: 'Job', name: 'migrate-3f2a1c', component: 'migrate' },
];

/** Replays `snapshots` (the last one again once they run out); records the log requests. */
function fakeClient(snapshots: Snapshot[], log = '') {
  const logRequests: unknown[][] = [];
  const selectors: string[] = [];
  let i = 0;
  const client = {
    snapshot: async (namespace: string, selector: string) => (selectors.push(`${namespace} ${selector}`), snapshots[Math.min(i++, snapshots.length - 1)]),
    logTail: async (...args: unknown[]) => (logRequests.push(args), log),
  } as unknown as StackClient;
  return { client, logRequests, selectors, polls: () => i };
}

/** A file or CI log: no TTY, every write kept. */
function fileOut() {
  const writes: string[] = [];
  return { out: { isTTY: false, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WriteStream, writes };
}

const wait = (client: StackClient, out: NodeJS.WriteStream, timeoutMs = 10_000) => waitForStack({ client, namespace: 'dataplatform', selector: 'app.kubernetes.io/part-of=dataplatform', workloads, timeoutMs, since: 0, out, pollMs: 1 });

const nothing = snapshot();
const starting = snapshot({
  deployments: [deployment('api', { ready: 0, updated: 1 })],
  jobs: [job('migrate-3f2a1c', 'migrate')],
  pods: [pod('api-7d9f8-abcde', 'api', { containers: [{ waiting: { reason: 'ContainerCreating' } }] }), pod('migrate-3f2a1c-x', 'migrate', { jobName: 'migrate-3f2a1c' })],
});
const migrated = snapshot({ ...starting, jobs: [job('migrate-3f2a1c', 'migrate', { condition: 'Complete' })] });
const up = snapshot({ ...migrated, deployments: [deployment('api')], pods: [pod('api-7d9f8-abcde', 'api')] });

describe('waitForStack', () => {
  it('resolves with the states once all are up, printing a line only when a workload changes', async () => {
    const { client, selectors, polls } = fakeClient([nothing, nothing, starting, starting, migrated, up]);
    const { out, writes } = fileOut();
    const states = await wait(client, out);
    expect(states.map((s) => [s.workload.component, s.up])).toEqual([
      ['api', true],
      ['migrate', true],
    ]);
    expect(polls()).toBe(6);
    expect(selectors[0]).toBe('dataplatform app.kubernetes.io/part-of=dataplatform');
    expect(writes.join('')).toBe(
      [
        '  .. api        Deployment   -          not created yet',
        '  .. migrate    Job          -          not created yet',
        '  .. api        Deployment   0/1        api: ContainerCreating',
        '  .. migrate    Job          running    running',
        '  ok migrate    Job          complete',
        '  ok api        Deployment   1/1',
        '',
      ].join('\n'),
    );
  });

  it('stops at a hopeless state with its reason, its fix and the last log lines, indented', async () => {
    const crashing = snapshot({
      ...migrated,
      pods: [pod('api-7d9f8-abcde', 'api', { containers: [{ waiting: { reason: 'CrashLoopBackOff' }, restartCount: 3, lastExit: { exitCode: 1, reason: 'Error' } }] })],
    });
    const { client, logRequests } = fakeClient([starting, crashing], 'Traceback (most recent call last):\n  File "app/main.py", line 3\nKeyError: \'DATABASE_URL\'\n\n');
    const { out, writes } = fileOut();
    const error = await wait(client, out).catch((e) => e);
    expect(error).toBeInstanceOf(OpsError);
    expect(error.code).toBe(1);
    expect(error.message).toBe(
      [
        'api cannot come up: pod api-7d9f8-abcde: container api keeps crashing (restarted 3 times; last exit 1, Error)',
        '  fix: read its log below (stackport logs api); fix the cause and run stackport up again',
        '  last log lines of api-7d9f8-abcde/api:',
        '    Traceback (most recent call last):',
        '      File "app/main.py", line 3',
        "    KeyError: 'DATABASE_URL'",
      ].join('\n'),
    );
    expect(logRequests).toEqual([['dataplatform', 'api-7d9f8-abcde', 'api', 15, true]]);
    expect(writes.at(-2)).toBe('  !! api        Deployment   0/1        api: CrashLoopBackOff\n');
  });

  it('without log lines the error has no log section', async () => {
    const failed = snapshot({ ...starting, jobs: [job('migrate-3f2a1c', 'migrate', { condition: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' })] });
    const { client, logRequests } = fakeClient([failed], '  \n');
    const error = await wait(client, fileOut().out).catch((e) => e);
    expect(error.message).toBe(
      'migrate cannot come up: Job migrate-3f2a1c failed (BackoffLimitExceeded: Job has reached the specified backoff limit)\n  fix: read its log below; fix the cause and run stackport up again (a changed Job runs again)',
    );
    expect(logRequests).toEqual([['dataplatform', 'migrate-3f2a1c-x', 'migrate', 15, false]]);
  });

  it('gives up after the timeout, listing what is late', async () => {
    const { client, polls } = fakeClient([migrated]);
    const { out, writes } = fileOut();
    const error = await wait(client, out, 600).catch((e) => e);
    expect(error).toBeInstanceOf(OpsError);
    expect(error.message).toBe(
      'not up after 1s:\n  api (Deployment): api: ContainerCreating\n  fix: stackport status and stackport logs COMPONENT show more; run stackport up again to keep waiting (--timeout SECONDS)',
    );
    expect(polls()).toBeGreaterThan(1);
    // Polled many times, printed once: nothing changed.
    expect(writes).toHaveLength(2);
  });
});

describe('waitForStack on a terminal', () => {
  it('redraws one block in place (log-update) and ends with every line and the count', async () => {
    const { client } = fakeClient([nothing, starting, up]);
    const writes: string[] = [];
    const out = { isTTY: true, columns: 120, rows: 40, write: (s: string) => (writes.push(s), true), on: () => out, off: () => out, once: () => out, removeListener: () => out } as unknown as NodeJS.WriteStream;
    await wait(client, out);
    const text = writes.join('');
    // Each frame after the first erases the previous one instead of adding lines.
    expect(text).toContain('\u001B[2K');
    const lastFrame = text.split(/\u001B\[[0-9;]*[A-Za-z]/).filter((t) => t.includes('up, ')).pop() ?? '';
    expect(lastFrame).toMatch(/ok api +Deployment +1\/1/);
    expect(lastFrame).toMatch(/ok migrate +Job +complete/);
    expect(lastFrame).toMatch(/2\/2 up, \d+s/);
  });
});
