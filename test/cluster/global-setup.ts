/**
 * Runs once before the cluster test: builds the pinned control-plane binaries (a no-op when the
 * cache is warm) and synthesizes dist/ with `npm run synth`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { EXTERNAL_KUBECONFIG, ROOT } from './kube';

export function setup(): void {
  const t0 = Date.now();
  // Against an existing cluster only kubectl is needed (STACKPORT_KUBECTL or PATH works too).
  if (!EXTERNAL_KUBECONFIG || process.env.STACKPORT_BUILD === '1') {
    execFileSync('bash', [join(ROOT, 'scripts/cluster/build.sh')], { cwd: ROOT, stdio: 'inherit' });
  }
  const t1 = Date.now();
  execFileSync('npm', ['run', '--silent', 'synth'], { cwd: ROOT, stdio: 'inherit' });
  console.log(`global setup: build.sh ${(t1 - t0) / 1000}s, npm run synth ${(Date.now() - t1) / 1000}s`);
}
