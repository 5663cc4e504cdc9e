/**
 * Import speed: `stackport import` + synthesis of all three environments for generated compose
 * projects of 10, 50 and 200 services (a PostgreSQL and a Redis per ten services, the rest web
 * services, workers and scheduled jobs wired to them). Target: 200 services in under 2 s, and cost
 * growing linearly (time per service at 200 within 2x of the time per service at 50).
 * In-process timings (median of RUNS after a warm-up) leave out node start-up and module loading,
 * which are reported once, for the CLI, separately.
 *
 *   npx tsx bench/import.bench.ts     exits 1 when a target is missed
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { synthesize } from '../charts/synth';
import { importCompose, writeImport } from '../importer/import';
import { generateCompose } from './compose-generator';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const SIZES = [10, 50, 200];
const root = resolve(__dirname, '..');

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

const work = mkdtempSync(join(tmpdir(), 'stackport-import-bench-'));
async function main(): Promise<void> {
  const results: { n: number; importMs: number; synthMs: number; totalMs: number; objects: number }[] = [];
  for (const n of SIZES) {
    const dir = join(work, String(n));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'compose.yaml'), generateCompose(n));
    const once = async () => {
      const t0 = performance.now();
      const r = await importCompose({ files: [join(dir, 'compose.yaml')], environment: {}, prodHost: 'bench.example.com', prodClass: 'eg' });
      writeImport(r, dir);
      const t1 = performance.now();
      const out = synthesize(r.spec, join(dir, 'dist'));
      const t2 = performance.now();
      return { importMs: t1 - t0, synthMs: t2 - t1, objects: out.reduce((a, x) => a + x.objects, 0) };
    };
    await once();
    const runs: Awaited<ReturnType<typeof once>>[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await once());
    const importMs = median(runs.map((r) => r.importMs));
    const synthMs = median(runs.map((r) => r.synthMs));
    results.push({ n, importMs, synthMs, totalMs: median(runs.map((r) => r.importMs + r.synthMs)), objects: runs[0].objects });
  }

  /** Wall clock of `stackport import` and of `stackport synth`, each a node process of its own. */
  const cli = (n: number) => {
    const dir = join(work, String(n));
    const run = (args: string[]) => {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [join(root, 'bin/stackport.js'), ...args], { cwd: root });
      if (r.status !== 0) throw new Error(`CLI failed: ${r.stderr}`);
      return performance.now() - t0;
    };
    const imp = run(['import', join(dir, 'compose.yaml'), '--out', join(dir, 'cli'), '--prod-host', 'bench.example.com', '--prod-class', 'eg']);
    const syn = run(['synth', '--spec', join(dir, 'cli', 'stack.yaml'), '--out', join(dir, 'cli', 'dist')]);
    return `import ${imp.toFixed(0)} ms + synth ${syn.toFixed(0)} ms`;
  };

  console.log(`runs per size: ${RUNS} (median), in process, after a warm-up`);
  console.log('services  import+validate  synth (3 envs)   total   objects   ms/service');
  for (const r of results) {
    console.log(`${String(r.n).padStart(8)}  ${r.importMs.toFixed(0).padStart(12)} ms  ${r.synthMs.toFixed(0).padStart(11)} ms  ${r.totalMs.toFixed(0).padStart(6)} ms  ${String(r.objects).padStart(7)}   ${(r.totalMs / r.n).toFixed(2).padStart(8)}`);
  }
  console.log(`CLI wall clock for 200 services, node start-up included: ${cli(200)}`);
  rmSync(work, { recursive: true, force: true });

  const at = (n: number) => results.find((r) => r.n === n)!;
  const perService = (n: number) => at(n).totalMs / n;
  const failures: string[] = [];
  if (at(200).totalMs > 2000) failures.push(`200 services took ${at(200).totalMs.toFixed(0)} ms (target < 2000)`);
  if (perService(200) > 2 * perService(50)) failures.push(`cost per service grows: ${perService(50).toFixed(2)} ms at 50, ${perService(200).toFixed(2)} ms at 200`);
  for (const f of failures) console.error(`FAIL: ${f}`);
  if (failures.length) process.exitCode = 1;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
