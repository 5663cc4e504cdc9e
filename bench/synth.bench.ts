/**
 * Synthesis speed. Target: rendering all three environments of the reference stack takes at most
 * 3x the time node needs just to load cdk8s and cdk8s-plus-28. Both are whole `node` processes,
 * timed as the median of repeated runs; the app runs compiled (tsc output under .cache/), so the
 * figure is synthesis, not TypeScript transpilation. `npm run synth` (tsx) is reported too.
 *
 *   npm run bench            exits 1 when the target is missed
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const TARGET_RATIO = 3;
const root = resolve(__dirname, '..');
const build = join(root, '.cache', 'bench-build');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(cmd: string, args: string[], cwd: string): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, stdio: 'pipe' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function sample(label: string, cmd: string, args: string[], cwd: string): { label: string; ms: number; all: number[] } {
  time(cmd, args, cwd); // warm the file cache
  const all = Array.from({ length: RUNS }, () => time(cmd, args, cwd));
  return { label, ms: median(all), all };
}

rmSync(build, { recursive: true, force: true });
execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json', '--noEmit', 'false', '--outDir', build, '--rootDir', '.'], { cwd: root, stdio: 'inherit' });
if (!existsSync(join(build, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(build, 'node_modules'));
const out = mkdtempSync(join(tmpdir(), 'stackport-bench-'));

const load = sample('node: load cdk8s + cdk8s-plus-28', process.execPath, ['-e', "require('cdk8s'); require('cdk8s-plus-28')"], root);
const synth = sample('synth kind+k3d+prod (compiled)', process.execPath, [join(build, 'main.js'), '--out', out], root);
const tsx = sample('npm run synth (tsx main.ts)', join(root, 'node_modules/.bin/tsx'), ['main.ts', '--out', out], root);
rmSync(out, { recursive: true, force: true });

const ratio = synth.ms / load.ms;
console.log(`runs per command: ${RUNS} (median)`);
for (const s of [load, synth, tsx]) console.log(`${s.label.padEnd(36)} ${s.ms.toFixed(0).padStart(6)} ms   [${s.all.map((x) => x.toFixed(0)).join(' ')}]`);
console.log(`ratio synth/load: ${ratio.toFixed(2)} (target <= ${TARGET_RATIO})`);
if (ratio > TARGET_RATIO) {
  console.error(`FAIL: synthesis takes ${ratio.toFixed(2)}x the cdk8s load time`);
  process.exitCode = 1;
}
