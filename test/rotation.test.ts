/**
 * ops/rotation.ts against a scripted kubectl: a deploy waits until the running servers log in with
 * their Secrets' current passwords, and restarts exactly the clients whose Secrets changed.
 */
import { describe, expect, it } from 'vitest';
import { buildManifests } from '../charts/synth';
import { referenceStack } from '../model/reference';
import { resolveStack } from '../model/presets';
import { OpsError } from '../ops/exec';
import type { Kubectl } from '../ops/kubectl';
import type { K8sObject } from '../ops/prune';
import { type LiveStack, passwordsInForce, SECRETS_HASH, secretsOf, withSecretsHash } from '../ops/rotation';

type Obj = Record<string, any>;
const stack = resolveStack(referenceStack, 'kind');
const objects = buildManifests(stack) as K8sObject[];
const b64 = (s: string) => Buffer.from(s).toString('base64');

/**
 * A kubectl whose login checks fail for the `slow` logins (PostgreSQL login names, or "redis") until
 * the `passAfter`-th exec, and pass for the others; the running stack's pods and Secrets come with it.
 */
function fakeKubectl(o: { pods: Record<string, Obj>; slow?: string[]; passAfter?: number }) {
  const calls: { args: string[]; input?: string }[] = [];
  let tries = 0;
  let secretReads = 0;
  const k = {
    ok(args: string[]) {
      calls.push({ args });
      return '';
    },
    run(args: string[], opts: { input?: string } = {}) {
      calls.push({ args, input: opts.input });
      tries++;
      const rest = args.slice(args.indexOf('check') + 1);
      const logins = args.includes('redis-0') ? ['redis'] : rest.filter((_, i) => i % 2 === 0);
      const failed = logins.map((l, i) => (tries <= (o.passAfter ?? 0) && (o.slow ?? logins).includes(l) ? i : -1)).filter((i) => i >= 0);
      return failed.length === 0 ? { status: 0, stdout: '', stderr: '' } : { status: 1, stdout: `not in force: ${failed.join(' ')}\n`, stderr: '' };
    },
  };
  const live: LiveStack = {
    pods: () => new Map(Object.entries(o.pods)),
    secrets: () => {
      secretReads++;
      return new Map(SECRET_NAMES.map((n) => [n, { data: { password: b64(`pw-of-${n}`) } }]));
    },
  };
  return { k: k as unknown as Kubectl, live, calls, secretReads: () => secretReads };
}

const SECRET_NAMES = ['postgres-superuser', 'postgres-user-app', 'postgres-user-app-ro', 'postgres-user-pipeline', 'postgres-user-features-ro', 'redis-auth'];

const running = (sidecar: boolean): Obj => ({
  metadata: { name: 'x-0' },
  status: { phase: 'Running', initContainerStatuses: sidecar ? [{ name: 'password-sync', state: { running: {} } }] : [] },
});

describe('passwordsInForce', () => {
  it("nudges each running server, then checks all its logins in one exec, passwords on stdin, re-checking only those that did not log in", () => {
    const { k, live, calls } = fakeKubectl({ pods: { 'postgres-0': running(true), 'redis-0': running(true) }, slow: ['pipeline'], passAfter: 1 });
    const log: string[] = [];
    passwordsInForce(k, stack, live, (l) => log.push(l));
    const annotate = calls.filter((c) => c.args.includes('annotate')).map((c) => c.args.slice(0, 5).join(' '));
    expect(annotate).toEqual(['-n dataplatform annotate pod postgres-0', '-n dataplatform annotate pod redis-0']);
    const execs = calls.filter((c) => c.args.includes('exec'));
    expect(execs.every((c) => c.args.includes('-c') && c.args[c.args.indexOf('-c') + 1] === 'password-sync')).toBe(true);
    // PostgreSQL: every login (owners and read-only) at the first try, then only the one that failed.
    const postgres = execs.filter((c) => c.args.includes('postgres-0'));
    const pairs = (c: { args: string[] }) => c.args.slice(c.args.indexOf('check') + 1).flatMap((a, i, all) => (i % 2 === 0 ? [`${a}@${all[i + 1]}`] : []));
    expect(new Set(pairs(postgres[0]))).toEqual(new Set(['postgres@postgres', 'app@app', 'pipeline@features', 'app_ro@app', 'features_ro@features']));
    expect(postgres.slice(1).map(pairs)).toEqual([['pipeline@features']]);
    // One password per login, in the order of the arguments.
    const passwords = postgres[0].input!.trimEnd().split('\n');
    expect(passwords[pairs(postgres[0]).indexOf('app@app')]).toBe('pw-of-postgres-user-app');
    expect(passwords[pairs(postgres[0]).indexOf('pipeline@features')]).toBe('pw-of-postgres-user-pipeline');
    expect(postgres[1].input).toBe('pw-of-postgres-user-pipeline\n');
    expect(execs.filter((c) => c.args.includes('redis-0')).map((c) => c.input)).toEqual(['pw-of-redis-auth\n']);
    // No password on any command line.
    expect(calls.flatMap((c) => c.args).some((a) => a.includes('pw-of-'))).toBe(false);
    expect(log).toEqual([expect.stringMatching(/^postgres: the Secrets' passwords are in force \(5 checked in/), expect.stringMatching(/^redis: the Secrets' passwords are in force \(1 checked in/)]);
  });

  it('does nothing on a first deploy (no server pod yet), and reads no Secret', () => {
    const { k, live, calls, secretReads } = fakeKubectl({ pods: {} });
    passwordsInForce(k, stack, live, () => {});
    expect(calls).toEqual([]);
    expect(secretReads()).toBe(0);
  });

  it('says so, and waits for nothing, when a running server predates its sidecar', () => {
    const { k, live, calls } = fakeKubectl({ pods: { 'postgres-0': running(false) } });
    const log: string[] = [];
    passwordsInForce(k, stack, live, (l) => log.push(l));
    expect(calls.filter((c) => c.args.includes('exec'))).toEqual([]);
    expect(log).toEqual(['postgres: runs without its password-sync sidecar; this apply restarts it with one, which puts the passwords in force at start']);
  });

  it('stops the deploy, naming the logins and where to look, when a password never takes', () => {
    const { k, live } = fakeKubectl({ pods: { 'postgres-0': running(true) }, passAfter: Number.MAX_SAFE_INTEGER });
    let error: unknown;
    try {
      passwordsInForce(k, stack, live, () => {}, 1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OpsError);
    expect((error as Error).message).toMatch(/^postgres: after \d+s the superuser postgres \(Secret postgres-superuser\), login app \(Secret postgres-user-app\), .* still do not log in with the Secret's password; the clients were not restarted\. See kubectl -n dataplatform logs postgres-0 -c password-sync$/);
  });

  it('keeps every login pending when the exec itself fails (the pod restarting): nothing is taken for in force', () => {
    const { k, live, calls } = fakeKubectl({ pods: { 'redis-0': running(true) } });
    let failures = 0;
    const restarting = { ...k, run: (args: string[], opts: { input?: string }) => (failures++ === 0 ? { status: 1, stdout: '', stderr: 'error: unable to upgrade connection' } : k.run(args, opts)) };
    const log: string[] = [];
    passwordsInForce(restarting as Kubectl, stack, live, (l) => log.push(l));
    // The failed exec, then a second with the same password, which logs in.
    expect(failures).toBe(2);
    expect(calls.filter((c) => c.args.includes('exec')).map((c) => c.input)).toEqual(['pw-of-redis-auth\n']);
    expect(log).toEqual([expect.stringMatching(/^redis: the Secrets' passwords are in force \(1 checked in/)]);
  });
});

describe('withSecretsHash', () => {
  const secrets = (overrides: Record<string, string> = {}) =>
    new Map(['postgres-user-app', 'postgres-user-app-ro', 'postgres-user-pipeline', 'postgres-user-features-ro', 'redis-auth', 'external-apis', 'pgadmin-login', 'postgres-superuser'].map((n) => [n, { data: { password: b64(overrides[n] ?? `v-${n}`) } }]));
  const hashes = (objs: K8sObject[]) => Object.fromEntries(objs.filter((o) => (o as Obj).spec?.template).map((o) => [`${o.kind}/${o.metadata.name}`, (o as Obj).spec.template.metadata?.annotations?.[SECRETS_HASH]]));

  it('stamps each client workload with the hash of the Secrets it reads; servers with the sidecar take none', () => {
    const h = hashes(withSecretsHash(objects, () => secrets()));
    expect(h['Deployment/api']).toMatch(/^[0-9a-f]{16}$/);
    expect(h['Deployment/dashboard']).toMatch(/^[0-9a-f]{16}$/);
    expect(h['StatefulSet/postgres']).toBeUndefined();
    expect(h['StatefulSet/redis']).toBeUndefined();
    // A CronJob's and a Job's pods read their Secrets when they start; a Job's template is immutable.
    expect(Object.keys(h).filter((n) => /^(CronJob|Job)\//.test(n) && h[n] !== undefined)).toEqual([]);
  });

  it('changes for exactly the workloads whose Secrets changed', () => {
    const before = hashes(withSecretsHash(objects, () => secrets()));
    const after = hashes(withSecretsHash(objects, () => secrets({ 'postgres-user-app-ro': 'rotated' })));
    const changed = Object.keys(before).filter((n) => before[n] !== after[n]);
    const readers = objects.filter((o) => secretsOf((o as Obj).spec?.template).includes('postgres-user-app-ro') && ['Deployment', 'StatefulSet'].includes(o.kind)).map((o) => `${o.kind}/${o.metadata.name}`);
    expect(readers).toContain('Deployment/dashboard');
    expect(changed).toEqual(readers.filter((n) => n !== 'StatefulSet/postgres'));
    expect(changed).not.toContain('Deployment/api');
  });

  it('lists the live Secrets only when a workload reads one', () => {
    let asked = 0;
    const plain = objects.filter((o) => o.kind === 'Service');
    withSecretsHash(plain, () => {
      asked++;
      return new Map();
    });
    expect(asked).toBe(0);
  });
});
