import { OpsError, run } from './exec';

/**
 * Runs a long tool (cluster creation, image builds) with the terminal as its output, so its progress
 * shows as it happens; a non-zero exit is an OpsError saying what failed, the tool's own message being
 * above it.
 */
export function runInTerminal(tool: string, args: readonly string[], what: string): void {
  const r = run(tool, args, { inherit: true });
  if (r.status !== 0) throw new OpsError(`${what} failed (${tool} exit ${r.status}); its output is above`);
}
