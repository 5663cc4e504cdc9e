/**
 * Runs once around the runtime test: installs the pinned Debian packages, builds the control-plane,
 * node and edge binaries and the node's images (no-ops when cached), synthesizes dist/, starts one node
 * (scripts/node/up.sh, owned by this process: its watchdog tears it down if we die) and hands its
 * description to the tests. Afterwards: scripts/node/down.sh, then a check that the host is as it
 * was (no namespace, mount, process, cgroup, interface or iptables rule of the node left).
 * STACKPORT_NODE_STATE=DIR reuses a node started by hand with `scripts/node/up.sh --state-dir DIR`
 * (for working on the tests; it is neither started nor torn down here).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT, run } from '../cluster/kube';
import { type NodeInfo, hostSnapshot } from './node';

const sh = (script: string, args: string[] = []) => execFileSync('bash', [join(ROOT, script), ...args], { cwd: ROOT, stdio: 'inherit' });
const seconds = (t: number) => Math.round((Date.now() - t) / 100) / 10;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) throw new Error('npm run test:runtime needs root (network and mount namespaces, cgroups)');
  const t0 = Date.now();
  execFileSync('npm', ['run', '--silent', 'synth'], { cwd: ROOT, stdio: 'inherit' });
  const runDir = mkdtempSync(join(tmpdir(), 'stackport-runtime-run-'));
  project.provide('runtimeRunDir', runDir);
  const removeRunDir = () => rmSync(runDir, { recursive: true, force: true });

  // A node already brought up by hand (scripts/node/up.sh --state-dir DIR): reused, left running.
  // Nothing is built: its binaries and images are the ones it was started with.
  const reuse = process.env.STACKPORT_NODE_STATE;
  if (reuse) {
    const info = JSON.parse(readFileSync(join(reuse, 'node.json'), 'utf8')) as NodeInfo;
    console.log(`runtime node: reusing ${reuse} (left running afterwards)`);
    project.provide('runtimeNode', info);
    return async () => removeRunDir();
  }

  sh('scripts/node/install-deps.sh');
  sh('scripts/cluster/build.sh', ['--all', '--edge']);
  sh('scripts/node/images.sh', ['--edge']);
  sh('scripts/images/install-tools.sh');
  sh('scripts/images/build.sh');
  const tBuild = seconds(t0);

  const before = hostSnapshot();
  const state = mkdtempSync('/tmp/stackport-node.');
  const t1 = Date.now();
  const up = await run('bash', [join(ROOT, 'scripts/node/up.sh'), '--state-dir', state, '--owner-pid', String(process.pid)], { timeoutMs: 600_000 });
  process.stderr.write(up.stderr);
  if (up.code !== 0) throw new Error(`scripts/node/up.sh failed (exit ${up.code}); its log is above`);
  const info = JSON.parse(readFileSync(join(state, 'node.json'), 'utf8')) as NodeInfo;
  console.log(`runtime node: build/install ${tBuild}s, bring-up ${seconds(t1)}s (${JSON.stringify(info.timings)})`);
  project.provide('runtimeNode', info);

  return async () => {
    removeRunDir();
    const t2 = Date.now();
    const keep = process.env.STACKPORT_KEEP_NODE === '1';
    sh('scripts/node/down.sh', keep ? ['--keep-state', state] : [state]);
    console.log(`runtime node: teardown ${seconds(t2)}s${keep ? ` (state kept in ${state})` : ''}`);
    const problems = leftovers(info, before, keep);
    if (problems.length > 0) throw new Error(`the node left traces on the host:\n  - ${problems.join('\n  - ')}`);
  };
}

/** What of the node is still on the host after down.sh. */
function leftovers(info: NodeInfo, before: ReturnType<typeof hostSnapshot>, keep: boolean): string[] {
  const problems: string[] = [];
  const after = hostSnapshot();
  if (after.netns.split('\n').some((l) => l.split(' ')[0] === info.netns)) problems.push(`network namespace ${info.netns}`);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(info.stateDir));
  if (mounts.length > 0) problems.push(`mounts: ${mounts.join('; ')}`);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.includes(info.stateDir)) problems.push(`process ${pid}: ${cmd.slice(0, 160)}`);
    } catch {
      // exited meanwhile
    }
  }
  const cgroupRoot = `/stackport-node-${info.netns.replace(/^stackport-node-/, '')}`;
  for (const h of readdirSync('/sys/fs/cgroup')) {
    if (existsSync(join('/sys/fs/cgroup', h, cgroupRoot))) problems.push(`cgroup /sys/fs/cgroup/${h}${cgroupRoot}`);
  }
  const newLines = (a: string, b: string) => {
    const old = new Set(a.split('\n'));
    return b.split('\n').filter((l) => l.trim() && !old.has(l));
  };
  for (const l of newLines(before.iptables, after.iptables)) problems.push(`host iptables rule: ${l}`);
  for (const l of newLines(before.links, after.links).filter((l) => /cni0|veth|eth1\b|eth0@/.test(l))) problems.push(`host interface: ${l}`);
  for (const l of newLines(before.routes, after.routes).filter((l) => /10\.(89|244|96)\./.test(l))) problems.push(`host route: ${l}`);
  if (!keep && existsSync(info.stateDir)) problems.push(`state folder ${info.stateDir}`);
  return problems;
}
