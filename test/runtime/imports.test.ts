/**
 * Every case of the public compose corpus that imports, and every importer fixture with a server,
 * synthesized for kind and run on the real node: PostgreSQL and Redis as the stand-ins, every other service as the connectivity stand-in on
 * its own ports, probes and environment. Each case must come up (every workload Ready, every Job
 * complete), and every connection its relations declare must succeed through the Services, DNS
 * and NetworkPolicies the importer produced.
 *
 * The node has two cores: CPU requests are lowered through the spec's per-component resources
 * (kind override), memory limits are kept, and the cases run under a pod budget that leaves room
 * below the node's pod limit for the other test files, which run at the same time: a case is
 * applied as soon as the budget allows (and, while the other files run, the CPU is idle enough),
 * judged as soon as it is up (or its time is out), and its namespace deleted right away, so a slow
 * case holds up no other.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../scripts/corpus-report';
import { endpointOf, isExternal, usesOf } from '../../model/relations';
import { loadSpecFile } from '../../model/load';
import type { StackSpec } from '../../model/schema';
import { caseNames, loadCase } from '../importer/public-corpus';
import { filesDone, node } from './node';
import { applyNewStack, localImages, notReadyOf } from './stack';

const { info, kube } = node();
/**
 * Pods of the cases running at once. The corpus keeps both cores busy (alone, 25 pods at a time:
 * about 750 CPU-seconds, most of it in containerd, runc, kube-router and the API server rather than
 * in the pods), and starves whatever runs beside it: with 30 pods of it alongside, the reference
 * stacks of the other files took five minutes to come up and their waits ran out. So while those
 * run (their namespaces exist, or the node is still importing their images) the corpus runs only a
 * few pods' worth, on the CPU they leave idle; afterwards it uses the node up to well under its pod
 * limit (110).
 */
const MAX_PODS_ALONGSIDE = 10;
const MAX_PODS = 50;
/**
 * The other files wait much of their time (for a CronJob, a rollout, a Job), and the node is then
 * half idle with only MAX_PODS_ALONGSIDE pods of the corpus starting. So beyond that floor, up to
 * this many, one more case is started whenever the CPU was at least IDLE_TO_ADD idle over the last
 * two looks and no case was started at the last look (a case's start shows in the CPU a few seconds
 * after its apply). When the other files need the CPU again, the corpus stops adding cases.
 */
const MAX_PODS_ALONGSIDE_IDLE = 24;
const IDLE_TO_ADD = 0.2;
/** Namespaces of the other files' reference stacks (stack.test.ts, environments.test.ts, apply.test.ts, laptop.test.ts). */
const REFERENCE_NAMESPACES = /^(dataplatform(-.*)?|runtime-apply|runtime-laptop(-.*)?)$/;
/** The files with reference stacks: once all are done (markFileDone), the corpus has the node to itself. */
const REFERENCE_FILES = ['stack', 'environments', 'laptop'];
/** Seconds a case has, from its apply, to come up with every relation connected. */
const CASE_SECONDS = 360;
/** Pause between two looks at the running cases. */
const POLL_MS = 2000;

interface Case {
  name: string;
  spec: StackSpec;
  namespace: string;
  dials: Record<string, string[]>;
  standIns: string[];
  pods: number;
  started: number;
}
interface Outcome {
  notReady: string[];
  failedDials: string[];
  dials: number;
  seconds: number;
}

/** The machine's CPU time so far, busy and in all (clock ticks, from /proc/stat). */
function cpuTimes(): { busy: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.reduce((a, b) => a + b, 0);
  return { busy: total - ticks[3] - (ticks[4] ?? 0), total };
}

/** The relations of each stand-in component as host:port, for its --dial. */
function dialsOf(spec: StackSpec, standIns: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of standIns) {
    const c = spec.components[name] as any;
    if (c.kind === 'worker' && c.mode === 'scheduled') continue; // a CronJob: no pod until it runs
    const targets = usesOf(spec.components[name])
      .filter((r) => spec.components[r.to] && !isExternal(spec.components[r.to]))
      .flatMap((r) => {
        try {
          const e = endpointOf(spec, r.to);
          return [`${e.host}:${(r as any).port ?? e.port}`];
        } catch {
          return []; // a worker or job: nothing listens
        }
      });
    if (targets.length > 0) out[name] = [...new Set(targets)];
  }
  return out;
}

/** Lower CPU requests to fit many stacks on two cores; memory stays as the preset has it. */
function small(spec: StackSpec): StackSpec {
  const components = Object.fromEntries(
    Object.entries(spec.components)
      .filter(([, c]) => c.kind !== 'redis' && !(c.kind === 'postgres' && c.external))
      .map(([n, c]) => [n, { resources: { requests: { cpu: '5m', memory: '32Mi' }, limits: { memory: ['postgres', 'stateful'].includes(c.kind) ? '1Gi' : '512Mi' } } }]),
  );
  const kind = spec.environments?.kind ?? {};
  return { ...spec, environments: { ...spec.environments, kind: { ...kind, components: { ...components, ...(kind.components ?? {}) } } } } as StackSpec;
}

const FIXTURES = join(__dirname, '..', 'fixtures', 'compose');

/** Importer fixtures with a component that serves a port, as case names ("fixture-<folder>"). */
function fixtureNames(): string[] {
  return readdirSync(FIXTURES)
    .filter((d) => existsSync(join(FIXTURES, d, 'stack.yaml')))
    .filter((d) => Object.values(loadSpecFile(join(FIXTURES, d, 'stack.yaml')).components).some((c: any) => c.port !== undefined || c.kind === 'postgres' || c.kind === 'redis'))
    .map((d) => `fixture-${d}`);
}

function caseOf(name: string, spec: StackSpec): Case {
  const standIns = Object.entries(spec.components)
    .filter(([, c]) => c.kind !== 'postgres' && c.kind !== 'redis')
    .map(([n]) => n);
  const pods = Object.values(spec.components).filter((c) => !isExternal(c)).length;
  return { name, spec: small(spec), namespace: '', dials: dialsOf(spec, standIns), standIns, pods, started: 0 };
}

const cases: Case[] = [];
const skipped: string[] = [];
const outcomes = new Map<string, Outcome>();
const dirs: string[] = [];

beforeAll(async () => {
  // STACKPORT_IMPORT_CASES=a,b runs only those cases (for working on one).
  const only = process.env.STACKPORT_IMPORT_CASES?.split(',');
  const tImport = Date.now();
  for (const name of caseNames().filter((n) => !only || only.includes(n))) {
    const c = loadCase(name);
    if (!c.expected.compose.accepted) continue;
    let spec: StackSpec;
    try {
      spec = (await runImport(c)).spec;
    } catch (e) {
      skipped.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    cases.push(caseOf(name, spec));
  }
  // The importer's own fixtures: their stack.yaml is what the importer writes (test/importer checks
  // that), each in a namespace of its own (two share the reference stack's name).
  for (const name of fixtureNames().filter((n) => !only || only.includes(n))) {
    const spec = loadSpecFile(join(FIXTURES, name.slice('fixture-'.length), 'stack.yaml'));
    cases.push(caseOf(name, { ...spec, namespace: name }));
  }

  console.log(`imports: ${cases.length} cases imported in ${Math.round((Date.now() - tImport) / 1000)}s`);

  // Namespaces left over from an aborted run: deleted, and waited for, once for all cases.
  const t0 = Date.now();
  const leftover = cases.map((c) => c.spec.namespace ?? c.spec.name);
  if (leftover.length > 0) await kube.kubectl(['delete', 'namespace', ...leftover, '--ignore-not-found', '--wait=true', '--timeout=180s'], { timeoutMs: 200_000 });

  const queue = [...cases];
  const running: Case[] = [];
  const finish = async (c: Case, o: Outcome) => {
    outcomes.set(c.name, o);
    running.splice(running.indexOf(c), 1);
    // Nothing later depends on it being gone: the node finishes deleting it while the run goes on.
    await kube.kubectl(['delete', 'namespace', c.namespace, '--wait=false']);
  };
  let workloads: any[] = [];
  let lastAlongside = Date.now();
  const timeline: string[] = [];
  // What the node serves: the cases' objects of other APIs (cert-manager, Traefik, monitoring) are
  // left out, as ops/apply.ts --skip-missing does.
  const served = new Set((await kube.ok(['api-versions'])).split('\n').map((l) => l.trim()).filter(Boolean));
  const start = async (onIdle: boolean) => {
    const c = queue.shift()!;
    const dir = mkdtempSync(join(tmpdir(), `stackport-runtime-import-${c.name}-`));
    dirs.push(dir);
    c.namespace = await applyNewStack(kube, info, served, c.spec, 'kind', dir, { connectivity: c.standIns, dials: c.dials });
    c.started = Date.now();
    timeline.push(`${c.name} +${Math.round((c.started - t0) / 1000)}s${onIdle ? ' (idle CPU)' : ''}`);
    running.push(c);
  };
  const inFlight = () => running.reduce((n, x) => n + x.pods, 0);
  const cpu = [cpuTimes(), cpuTimes()];
  let startedLastLook = false;
  while (queue.length > 0 || running.length > 0) {
    if (workloads.some((o) => REFERENCE_NAMESPACES.test(o.metadata.namespace))) lastAlongside = Date.now();
    // 20 s of grace: a reference stack is applied a few seconds after the images are in, and prod's
    // namespace comes after k3d's. Once the files with reference stacks say they are done, no grace.
    const alongside = Date.now() - lastAlongside < 20_000 && !filesDone(REFERENCE_FILES);
    const budget = alongside ? MAX_PODS_ALONGSIDE : MAX_PODS;
    const now = cpuTimes();
    const idle = 1 - (now.busy - cpu[0].busy) / Math.max(1, now.total - cpu[0].total);
    cpu.shift();
    cpu.push(now);
    let started = 0;
    // Start what fits the budget (always one case, even a large one, when nothing runs).
    for (; queue.length > 0 && (running.length === 0 || inFlight() + queue[0].pods <= budget); started++) await start(false);
    if (alongside && started === 0 && !startedLastLook && idle >= IDLE_TO_ADD && queue.length > 0 && inFlight() + queue[0].pods <= MAX_PODS_ALONGSIDE_IDLE) {
      await start(true);
      started++;
    }
    startedLastLook = started > 0;
    // One listing of every workload on the node per look (a kubectl per case would cost more CPU
    // than the cases themselves); the dials are read only from cases whose workloads are all up.
    workloads = await kube.items(['get', 'deployments,statefulsets,jobs', '--all-namespaces']);
    await Promise.all(
      [...running].map(async (c) => {
        const missing = notReadyOf(workloads.filter((o) => o.metadata.namespace === c.namespace));
        const d = missing.length === 0 ? await dialResults(c) : undefined;
        const seconds = Math.round((Date.now() - c.started) / 1000);
        if (d && d.failedDials.length === 0) await finish(c, { notReady: [], failedDials: [], dials: d.dials, seconds });
        else if (seconds > CASE_SECONDS) {
          const late = d ?? (await dialResults(c));
          await finish(c, { notReady: missing, failedDials: late.failedDials, dials: late.dials, seconds: -1 });
        }
      }),
    );
    if (running.length > 0) await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const times = cases.map((c) => `${c.name} ${outcomes.get(c.name)?.seconds}s`).join(', ');
  console.log(`imports: all cases judged in ${Math.round((Date.now() - t0) / 1000)}s (from each apply to up and connected: ${times})`);
  console.log(`imports: applied at ${timeline.join(', ')}`);
  const total = [...outcomes.values()].reduce((n, o) => n + o.dials, 0);
  console.log(`imports: ${cases.length} cases run, ${skipped.length} not importable (${skipped.join('; ')}), ${total} declared connections checked`);
}, 3_600_000);

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const CONNECTIVITY_IMAGE = [...localImages()].find((i) => i.includes('/connectivity:'))!;

/** The relations of every stand-in pod of a case that have not connected (from the pods' logs: "<from> -> host:port ok"). */
async function dialResults(c: Case): Promise<{ dials: number; failedDials: string[] }> {
  const failed: string[] = [];
  let dials = 0;
  const pods = await kube.items(['-n', c.namespace, 'get', 'pods']);
  for (const [component, targets] of Object.entries(c.dials)) {
    const pod = pods.find((p) => p.metadata.labels?.['app.kubernetes.io/name'] === component && p.spec.containers.some((x: any) => x.image === CONNECTIVITY_IMAGE) && ['Running', 'Succeeded'].includes(p.status.phase));
    dials += targets.length;
    if (!pod) {
      failed.push(...targets.map((t) => `${component} -> ${t}: no running pod`));
      continue;
    }
    const logs = await kube.logs(c.namespace, pod.metadata.name, pod.spec.containers[0].name).catch(() => '');
    const missed = targets.filter((t) => !logs.includes(` -> ${t} ok (`));
    const tail = logs.trimEnd().split('\n').slice(-6).join(' | ');
    for (const t of missed) failed.push(`${component} -> ${t} (pod ${pod.metadata.name}: ${tail})`);
  }
  return { dials, failedDials: failed };
}

describe('the public compose corpus and the importer fixtures on the real node', () => {
  it('runs every case that imports', () => {
    expect(cases.length).toBeGreaterThanOrEqual(process.env.STACKPORT_IMPORT_CASES ? 1 : 25 + fixtureNames().length);
    // Every case that ran was judged (a case without an outcome below passes as "not importable").
    expect([...outcomes.keys()].sort()).toEqual(cases.map((c) => c.name).sort());
  });

  it.each([...caseNames(), ...fixtureNames()])('%s: every workload Ready, every declared connection succeeds', (name) => {
    const o = outcomes.get(name);
    if (!o) return; // not accepted by compose or not importable: the corpus report covers it
    expect({ notReady: o.notReady, failedDials: o.failedDials }).toEqual({ notReady: [], failedDials: [] });
  });
});
