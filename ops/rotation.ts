/**
 * Rotated passwords on a deploy (ops/apply.ts). The servers' sidecars put the mounted Secret values
 * in force (charts/password-sync.ts); this makes a deploy wait for them before the clients restart
 * with the new values, and restarts exactly the clients whose Secrets changed:
 *
 * 1. `passwordsInForce`: for each running PostgreSQL and Redis of the stack, nudges the kubelet to
 *    refresh the pod's mounted Secrets (a pod change triggers its sync; the periodic one can take a
 *    minute), then checks every login with its Secret's current password, as a client would, over
 *    the pod's address (all of a server's logins in one exec), until each logs in;
 * 2. `withSecretsHash`: stamps each Deployment's and StatefulSet's pod template with a hash of the
 *    Secrets it reads, so a changed Secret rolls its pods and an unchanged one rolls nothing.
 *    Servers with the sidecar are left out: they take the new value without a restart.
 */
import { createHash } from 'node:crypto';
import { NOT_IN_FORCE, PASSWORD_SYNC, passwordCheck } from '../charts/password-sync';
import type { ResolvedStack } from '../model/presets';
import { isExternal, postgresLogins, secretNames } from '../model/relations';
import { OpsError, sleep } from './exec';
import type { Kubectl } from './kubectl';
import type { K8sObject } from './prune';

export const SECRETS_HASH = 'stackport.dev/secrets-hash';
const NUDGE = 'stackport.dev/passwords';

type Obj = Record<string, any>;

const digest = (parts: unknown): string => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);

/** A Secret key's value as text, or undefined when the Secret or key is missing. */
function value(secret: Obj | undefined, key: string): string | undefined {
  const b64 = secret?.data?.[key];
  return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
}

interface Check {
  readonly what: string;
  readonly secret: string;
  readonly args: string[];
}

function checksOf(stack: ResolvedStack, name: string): Check[] {
  const c = stack.components[name];
  if (c.kind === 'postgres') {
    const logins = postgresLogins(stack.spec, name).map((l) => ({ what: `login ${l.user}`, secret: l.secretName, args: [l.user, l.database] }));
    // The superuser (the backup logs in as it) unless a database owner already is it.
    const superuser = { what: 'superuser postgres', secret: secretNames.postgresSuperuser(name), args: ['postgres', 'postgres'] };
    return logins.some((l) => l.args[0] === 'postgres') ? logins : [superuser, ...logins];
  }
  return [{ what: 'password', secret: secretNames.redisAuth(name), args: [] }];
}

/** The running stack as a deploy reads it, once and only when asked: its pods and its Secrets, by name. */
export interface LiveStack {
  pods(): ReadonlyMap<string, Obj>;
  secrets(): ReadonlyMap<string, Obj>;
}

/** The checks of `pending` that the check's output names as failed; all of them when it names none (the exec itself failed). */
function stillPending<T>(pending: T[], stdout: string): T[] {
  const line = stdout.split('\n').find((l) => l.startsWith(NOT_IN_FORCE));
  if (!line) return pending;
  const failed = new Set(line.slice(NOT_IN_FORCE.length).trim().split(/\s+/).map(Number));
  return pending.filter((_, i) => failed.has(i));
}

/** Waits until every in-cluster server's logins work with their Secrets' current passwords. */
export function passwordsInForce(k: Kubectl, stack: ResolvedStack, live: LiveStack, log: (line: string) => void, timeoutMs = 180_000): void {
  const ns = stack.namespace;
  for (const c of Object.values(stack.components)) {
    if (isExternal(c) || !(c.kind === 'postgres' || (c.kind === 'redis' && c.password !== false))) continue;
    const podName = `${c.name}-0`;
    const pod = live.pods().get(podName);
    // Not running (a first deploy, a restart under way): it starts with the current values.
    if (!pod || pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running') continue;
    const sidecar = (pod.status.initContainerStatuses ?? []).find((s: Obj) => s.name === PASSWORD_SYNC);
    if (!sidecar?.state?.running) {
      log(`${c.name}: runs without its ${PASSWORD_SYNC} sidecar; this apply restarts it with one, which puts the passwords in force at start`);
      continue;
    }
    const checks = checksOf(stack, c.name)
      .map((ch) => ({ ...ch, password: value(live.secrets().get(ch.secret), 'password') }))
      .filter((ch): ch is Check & { password: string } => ch.password !== undefined);
    if (checks.length === 0) continue;
    k.ok(['-n', ns, 'annotate', 'pod', podName, `${NUDGE}=${digest(checks.map((ch) => ch.password))}`, '--overwrite']);
    const t0 = Date.now();
    let pending = checks;
    for (;;) {
      const args = ['-n', ns, 'exec', '-i', podName, '-c', PASSWORD_SYNC, '--', 'sh', '-c', passwordCheck(c.kind as 'postgres' | 'redis'), 'check', ...pending.flatMap((ch) => ch.args)];
      const r = k.run(args, { input: pending.map((ch) => `${ch.password}\n`).join('') });
      pending = r.status === 0 ? [] : stillPending(pending, r.stdout);
      if (pending.length === 0) break;
      if (Date.now() - t0 > timeoutMs) {
        throw new OpsError(
          `${c.name}: after ${Math.round((Date.now() - t0) / 1000)}s the ${pending.map((ch) => `${ch.what} (Secret ${ch.secret})`).join(', ')} still do${pending.length > 1 ? '' : 'es'} not log in with the Secret's password; ` +
            `the clients were not restarted. See kubectl -n ${ns} logs ${podName} -c ${PASSWORD_SYNC}`,
        );
      }
      sleep(2000);
    }
    log(`${c.name}: the Secrets' passwords are in force (${checks.length} checked in ${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  }
}

/** Names of the Secrets a pod template reads: env, envFrom, secret and projected volumes. */
export function secretsOf(template: Obj): string[] {
  const spec = template?.spec ?? {};
  const names = new Set<string>();
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef?.name) names.add(e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) names.add(e.secretRef.name);
  }
  for (const v of spec.volumes ?? []) {
    if (v.secret?.secretName) names.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) if (s.secret?.name) names.add(s.secret.name);
  }
  return [...names].sort();
}

/**
 * `objects` with each client workload's template stamped with the hash of the Secrets it reads
 * (`live` lists them by name, asked only when a workload reads one; a missing one counts as such).
 */
export function withSecretsHash(objects: readonly K8sObject[], live: () => ReadonlyMap<string, Obj>): K8sObject[] {
  let secrets: ReadonlyMap<string, Obj> | undefined;
  return objects.map((o) => {
    if (o.kind !== 'Deployment' && o.kind !== 'StatefulSet') return o;
    const template = (o as Obj).spec?.template;
    if ((template?.spec?.initContainers ?? []).some((c: Obj) => c.name === PASSWORD_SYNC)) return o;
    const names = secretsOf(template);
    if (names.length === 0) return o;
    secrets ??= live();
    const hash = digest(names.map((n) => [n, secrets!.get(n)?.data ?? null]));
    const annotations = { ...(template.metadata?.annotations ?? {}), [SECRETS_HASH]: hash };
    return { ...o, spec: { ...(o as Obj).spec, template: { ...template, metadata: { ...template.metadata, annotations } } } } as K8sObject;
  });
}
