/**
 * The configcheck tool (scripts/configcheck), built by scripts/cluster/build.sh into the per-user
 * cache under a hash of its sources. A missing or stale binary fails the test with the command
 * that builds it: skipping would let a broken Tiltfile pass.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

const inCI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

/**
 * Plain `npm test` skips the configcheck tests when the tool is not built, with a note naming the
 * command, as the native and policy-tool tests do; under CI=true they fail instead.
 */
export const configcheckSkip: boolean = (() => {
  if (inCI) return false;
  try {
    configcheckBin();
    return false;
  } catch (e) {
    console.warn(`note: skipping the configcheck tests: ${(e as Error).message}`);
    return true;
  }
})();

export function configcheckBin(): string {
  const r = spawnSync('bash', [join(ROOT, 'scripts/cluster/build.sh'), '--print-bin=configcheck'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  if (r.status !== 0 || !existsSync(bin)) {
    throw new Error(`configcheck is not built (${bin || r.stderr.trim()}): run \`bash scripts/cluster/build.sh configcheck\` (npm run test:all builds it)`);
  }
  return bin;
}

export interface CheckResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function configcheck(args: string[]): CheckResult {
  const r = spawnSync(configcheckBin(), args, { encoding: 'utf8' });
  return { status: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/** One Tilt API call as configcheck records it: the function and its arguments by parameter name. */
export interface TiltCall {
  readonly fn: string;
  readonly args: Record<string, any>;
}

/** Runs a Tiltfile with Tilt's API recorded; throws with configcheck's message when it fails. */
export function tiltCalls(file: string, kubeContext: string): TiltCall[] {
  const r = configcheck(['tiltfile', '--k8s-context', kubeContext, file]);
  if (r.status !== 0) throw new Error(`configcheck tiltfile ${file} failed (exit ${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as TiltCall[];
}
