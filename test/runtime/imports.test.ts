/**
 * Every case of the public compose corpus that imports, synthesized for kind and run on the real
 * node: PostgreSQL and Redis as the stand-ins, every other service as the connectivity stand-in on
 * its own ports, probes and environment. Each case must come up (every workload Ready, every Job
 * complete), and every connection its relations declare must succeed through the Services, DNS
 * and NetworkPolicies the importer produced.
 *
 * The node has two cores: CPU requests are lowered through the spec's per-component resources
 * (kind override), memory limits are kept, and the cases run in batches under the node's pod limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runImport } from '../../scripts/corpus-report';
import { endpointOf, usesOf } from '../../model/relations';
import type { StackSpec } from '../../model/schema';
import { caseNames, loadCase } from '../importer/public-corpus';
import { node } from './node';
import { applyStack, localImages, notReady } from './stack';

const { info, kube } = node();
const MAX_PODS_PER_BATCH = 80;

interface Case {
  name: string;
  spec: StackSpec;
  namespace: string;
  dials: Record<string, string[]>;
  standIns: string[];
  pods: number;
}
interface Outcome {
  notReady: string[];
  failedDials: string[];
  dials: number;
  seconds: number;
}

/** The relations of each stand-in component as host:port, for its --dial. */
function dialsOf(spec: StackSpec, standIns: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of standIns) {
    const c = spec.components[name] as any;
    if (c.kind === 'worker' && c.mode === 'scheduled') continue; // a CronJob: no pod until it runs
    const targets = usesOf(spec.components[name])
      .filter((r) => !(spec.components[r.to]?.kind === 'postgres' && (spec.components[r.to] as any).external))
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

const cases: Case[] = [];
const skipped: string[] = [];
const outcomes = new Map<string, Outcome>();
const dirs: string[] = [];

beforeAll(async () => {
  // STACKPORT_IMPORT_CASES=a,b runs only those cases (for working on one).
  const only = process.env.STACKPORT_IMPORT_CASES?.split(',');
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
    const standIns = Object.entries(spec.components)
      .filter(([, c]) => c.kind !== 'postgres' && c.kind !== 'redis')
      .map(([n]) => n);
    const pods = Object.values(spec.components).filter((c) => !(c.kind === 'postgres' && c.external)).length;
    cases.push({ name, spec: small(spec), namespace: '', dials: dialsOf(spec, standIns), standIns, pods });
  }

  const batches: Case[][] = [];
  for (const c of cases) {
    const last = batches.at(-1);
    if (last && last.reduce((n, x) => n + x.pods, 0) + c.pods <= MAX_PODS_PER_BATCH) last.push(c);
    else batches.push([c]);
  }
  for (const [i, batch] of batches.entries()) {
    const t0 = Date.now();
    for (const c of batch) {
      const dir = mkdtempSync(join(tmpdir(), `stackport-runtime-import-${c.name}-`));
      dirs.push(dir);
      await kube.kubectl(['delete', 'namespace', c.spec.namespace ?? c.spec.name, '--ignore-not-found', '--wait=true', '--timeout=120s'], { timeoutMs: 150_000 });
      c.namespace = applyStack(info, c.spec, 'kind', dir, { connectivity: c.standIns, dials: c.dials });
    }
    // Wait for the whole batch, then judge each case.
    const deadline = Date.now() + 300_000;
    const pending = new Set(batch.map((c) => c.name));
    while (pending.size > 0 && Date.now() < deadline) {
      for (const c of batch.filter((x) => pending.has(x.name))) {
        if ((await notReady(kube, c.namespace)).length === 0 && (await dialResults(c)).failedDials.length === 0) {
          pending.delete(c.name);
          outcomes.set(c.name, { notReady: [], failedDials: [], dials: (await dialResults(c)).dials, seconds: Math.round((Date.now() - t0) / 1000) });
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 3000));
    }
    for (const c of batch.filter((x) => pending.has(x.name))) {
      const d = await dialResults(c);
      outcomes.set(c.name, { notReady: await notReady(kube, c.namespace), failedDials: d.failedDials, dials: d.dials, seconds: -1 });
    }
    console.log(`imports batch ${i + 1}/${batches.length}: ${batch.map((c) => c.name).join(', ')}: ${Math.round((Date.now() - t0) / 1000)}s`);
    for (const c of batch) await kube.kubectl(['delete', 'namespace', c.namespace, '--wait=false']);
  }
  const total = [...outcomes.values()].reduce((n, o) => n + o.dials, 0);
  console.log(`imports: ${cases.length} cases run, ${skipped.length} not importable (${skipped.join('; ')}), ${total} declared connections checked`);
}, 3_600_000);

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The relations of every stand-in pod of a case that have not connected (from the pods' logs: "<from> -> host:port ok"). */
async function dialResults(c: Case): Promise<{ dials: number; failedDials: string[] }> {
  const failed: string[] = [];
  let dials = 0;
  const image = [...localImages()].find((i) => i.includes('/connectivity:'))!;
  const pods = await kube.items(['-n', c.namespace, 'get', 'pods']);
  for (const [component, targets] of Object.entries(c.dials)) {
    const pod = pods.find((p) => p.metadata.labels?.['app.kubernetes.io/name'] === component && p.spec.containers.some((x: any) => x.image === image) && ['Running', 'Succeeded'].includes(p.status.phase));
    dials += targets.length;
    if (!pod) {
      failed.push(...targets.map((t) => `${component} -> ${t}: no running pod`));
      continue;
    }
    const logs = (await kube.kubectl(['-n', c.namespace, 'logs', pod.metadata.name, '-c', pod.spec.containers[0].name])).stdout;
    const missed = targets.filter((t) => !logs.includes(` -> ${t} ok (`));
    const tail = logs.trimEnd().split('\n').slice(-6).join(' | ');
    for (const t of missed) failed.push(`${component} -> ${t} (pod ${pod.metadata.name}: ${tail})`);
  }
  return { dials, failedDials: failed };
}

describe('the public compose corpus on the real node', () => {
  it('runs every case that imports', () => {
    expect(cases.length).toBeGreaterThanOrEqual(process.env.STACKPORT_IMPORT_CASES ? 1 : 25);
  });

  it.each(caseNames())('%s: every workload Ready, every declared connection succeeds', (name) => {
    const o = outcomes.get(name);
    if (!o) return; // not accepted by compose or not importable: the corpus report covers it
    expect({ notReady: o.notReady, failedDials: o.failedDials }).toEqual({ notReady: [], failedDials: [] });
  });
});
