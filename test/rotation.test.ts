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
import { passwordsInForce, SECRETS_HASH, secretsOf, withSecretsHash } from '../ops/rotation';

type Obj = Record<string, any>;
const stack = resolveStack(referenceStack, 'kind');
const objects = buildManifests(stack) as K8sObject[];
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubectl that knows some pods and Secrets, and whose login checks pass from the `passAfter`-th try. */
function fakeKubectl(o: { pods: Record<string, Obj>; passAfter?: number }) {
  const calls: { args: string[]; input?: string }[] = [];
  let tries = 0;
  const k = {
    json(args: string[]) {
      calls.push({ args });
      if (args.includes('pod')) return o.pods[args[args.indexOf('pod') + 1]];
      if (args.includes('secret')) return { data: { password: b64(`pw-of-${args[args.indexOf('secret') + 1]}`) } };
      return undefined;
    },
    ok(args: string[]) {
      calls.push({ args });
      return '';
    },
    run(args: string[], opts: { input?: string } = {}) {
      calls.push({ args, input: opts.input });
      tries++;
      return { status: tries > (o.passAfter ?? 0) ? 0 : 1, stdout: '', stderr: '' };
    },
  };
  return { k: k as unknown as Kubectl, calls };
}

const running = (sidecar: boolean): Obj => ({
  metadata: { name: 'x-0' },
  status: { phase: 'Running', initContainerStatuses: sidecar ? [{ name: 'password-sync', state: { running: {} } }] : [] },
});

describe('passwordsInForce', () => {
  it('nudges each running server, then checks every login with its Secret password on stdin until it logs in', () => {
    const { k, calls } = fakeKubectl({ pods: { 'postgres-0': running(true), 'redis-0': running(true) }, passAfter: 2 });
    const log: string[] = [];
    passwordsInForce(k, stack, (l) => log.push(l));
    const annotate = calls.filter((c) => c.args.includes('annotate')).map((c) => c.args.slice(0, 5).join(' '));
    expect(annotate).toEqual(['-n dataplatform annotate pod postgres-0', '-n dataplatform annotate pod redis-0']);
    const execs = calls.filter((c) => c.args.includes('exec'));
    // PostgreSQL: one check per login (owners and read-only), the first two tries failing; then Redis.
    const logins = execs.filter((c) => c.args.includes('postgres-0')).map((c) => c.args.slice(-2).join('@'));
    expect(new Set(logins)).toEqual(new Set(['postgres@postgres', 'app@app', 'pipeline@features', 'app_ro@app', 'features_ro@features']));
    expect(execs.every((c) => c.args.includes('-c') && c.args[c.args.indexOf('-c') + 1] === 'password-sync')).toBe(true);
    expect(execs.find((c) => c.args.slice(-2).join('@') === 'app@app')!.input).toBe('pw-of-postgres-user-app\n');
    expect(execs.filter((c) => c.args.includes('redis-0')).map((c) => c.input)).toEqual(['pw-of-redis-auth\n']);
    // No password on any command line.
    expect(calls.flatMap((c) => c.args).some((a) => a.includes('pw-of-'))).toBe(false);
    expect(log).toEqual([expect.stringMatching(/^postgres: the Secrets' passwords are in force \(5 checked in/), expect.stringMatching(/^redis: the Secrets' passwords are in force \(1 checked in/)]);
  });

  it('does nothing on a first deploy (no server pod yet)', () => {
    const { k, calls } = fakeKubectl({ pods: {} });
    passwordsInForce(k, stack, () => {});
    expect(calls.filter((c) => c.args.includes('exec') || c.args.includes('annotate'))).toEqual([]);
  });

  it('says so, and waits for nothing, when a running server predates its sidecar', () => {
    const { k, calls } = fakeKubectl({ pods: { 'postgres-0': running(false) } });
    const log: string[] = [];
    passwordsInForce(k, stack, (l) => log.push(l));
    expect(calls.filter((c) => c.args.includes('exec'))).toEqual([]);
    expect(log).toEqual(['postgres: runs without its password-sync sidecar; this apply restarts it with one, which puts the passwords in force at start']);
  });

  it('stops the deploy, naming the logins and where to look, when a password never takes', () => {
    const { k } = fakeKubectl({ pods: { 'postgres-0': running(true) }, passAfter: Number.MAX_SAFE_INTEGER });
    let error: unknown;
    try {
      passwordsInForce(k, stack, () => {}, 1);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OpsError);
    expect((error as Error).message).toMatch(/^postgres: after \d+s the superuser postgres \(Secret postgres-superuser\), login app \(Secret postgres-user-app\), .* still do not log in with the Secret's password; the clients were not restarted\. See kubectl -n dataplatform logs postgres-0 -c password-sync$/);
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
