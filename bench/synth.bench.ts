/**
 * Synthesis speed of the commands users run, against the floor: a `node` process that only loads
 * cdk8s and cdk8s-plus-28. Every command renders all three environments of the reference stack
 * (`npx stackport synth` reads it from examples/dataplatform.stack.yaml, as a user's stack.yaml).
 *
 * Each launcher (npm, npx, cdk8s-cli) costs time of its own before stackport starts, measured here
 * by the same launcher starting a process that does nothing. stackport's share of a command is its
 * time minus that; the target is a share of at most 2x the floor for every command. Whole processes,
 * median of repeated runs, interleaved so that load on the machine hits every command alike.
 *
 *   npm run bench            exits 1 when a target is missed
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 11);
const TARGET_RATIO = 2;
const root = resolve(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'stackport-bench-'));
const env = { ...process.env, CDK8S_CHECK_UPGRADE: 'false', npm_config_update_notifier: 'false' };
const bin = (name: string) => join(root, 'node_modules/.bin', name);

interface Command {
  label: string;
  cmd: string;
  args: string[];
  cwd?: string;
  /** The launcher alone, starting a process that does nothing. */
  launcher?: Command;
}

// cdk8s-cli with an app that only creates the output folder it expects.
const noopApp = join(scratch, 'noop-app');
mkdirSync(noopApp);
writeFileSync(join(noopApp, 'noop.js'), "require('fs').mkdirSync(process.env.CDK8S_OUTDIR, { recursive: true });\n");
writeFileSync(join(noopApp, 'cdk8s.yaml'), 'app: node noop.js\noutput: dist\n');

const out = join(scratch, 'out');
const floor: Command = { label: 'node: load cdk8s + cdk8s-plus-28', cmd: process.execPath, args: ['-e', "require('cdk8s'); require('cdk8s-plus-28')"] };
const commands: Command[] = [
  { label: 'node bin/synth.js (compiled main.ts)', cmd: process.execPath, args: ['bin/synth.js', '--out', out] },
  { label: 'npm run synth', cmd: 'npm', args: ['run', '--silent', 'synth', '--', '--out', out], launcher: { label: 'npm run (env)', cmd: 'npm', args: ['run', '--silent', 'env'] } },
  {
    label: 'cdk8s synth',
    cmd: bin('cdk8s'),
    args: ['synth', '--no-check-upgrade', '-o', out],
    launcher: { label: 'cdk8s synth (empty app)', cmd: bin('cdk8s'), args: ['synth', '--no-check-upgrade'], cwd: noopApp },
  },
  {
    label: 'npx stackport synth --spec',
    cmd: 'npx',
    args: ['--no-install', 'stackport', 'synth', '--spec', 'examples/dataplatform.stack.yaml', '--out', out],
    launcher: { label: 'npx stackport --version', cmd: 'npx', args: ['--no-install', 'stackport', '--version'] },
  },
];

function once(c: Command): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(c.cmd, c.args, { cwd: c.cwd ?? root, stdio: 'pipe', env });
  if (r.status !== 0) throw new Error(`${c.cmd} ${c.args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Compile lib/ first when a source changed, so no timed run includes a build.
execFileSync(process.execPath, [join(root, 'bin/synth.js'), '--out', out], { cwd: root, stdio: 'pipe' });

const all = [floor, ...commands.flatMap((c) => (c.launcher ? [c, c.launcher] : [c]))];
const times = new Map<Command, number[]>(all.map((c) => [c, []]));
for (const c of all) once(c); // warm the file cache
for (let i = 0; i < RUNS; i++) for (const c of all) times.get(c)!.push(once(c));
rmSync(scratch, { recursive: true, force: true });

const ms = (c: Command) => median(times.get(c)!);
const f = ms(floor);
const fmt = (x: number) => x.toFixed(0).padStart(6);
console.log(`runs per command: ${RUNS} (median ms)\n`);
console.log(`${'command'.padEnd(38)} ${'total'.padStart(6)} ${'launch'.padStart(6)} ${'own'.padStart(6)}  own/floor  total/floor`);
console.log(`${floor.label.padEnd(38)} ${fmt(f)}`);
let failed = false;
for (const c of commands) {
  const total = ms(c);
  const launch = c.launcher ? ms(c.launcher) : 0;
  const own = total - launch;
  const ratio = own / f;
  if (ratio > TARGET_RATIO) failed = true;
  console.log(`${c.label.padEnd(38)} ${fmt(total)} ${c.launcher ? fmt(launch) : '     -'} ${fmt(own)}  ${ratio.toFixed(2).padStart(9)}  ${(total / f).toFixed(2).padStart(11)}`);
}
console.log(`\nlaunchers: ${commands.filter((c) => c.launcher).map((c) => `${c.launcher!.label} ${fmt(ms(c.launcher!)).trim()} ms`).join('; ')}`);
console.log(`target: own/floor <= ${TARGET_RATIO} for every command`);
if (failed) {
  console.error(`FAIL: a command's own synthesis time exceeds ${TARGET_RATIO}x the cdk8s load time`);
  process.exitCode = 1;
}
