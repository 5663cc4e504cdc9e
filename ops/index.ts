/**
 * The laptop workflow (`stackport up`, `status`, `logs`, `run`, `psql`, `open`, `backup`, `down`,
 * `dev`, `doctor`). Bundled apart from the rest (lib/ops.cjs): synth and import never load the
 * Kubernetes client.
 */
import { OpsError } from './exec';

export { OpsError } from './exec';

type Command = (args: string[]) => Promise<number> | number;

/** The laptop commands by name; cli.ts sends any of these here. */
export const COMMANDS: Record<string, Command> = {};

export async function runOpsCommand(command: string, args: string[]): Promise<number> {
  const c = COMMANDS[command];
  if (!c) throw new OpsError(`unknown command "${command}"`, 2);
  return c(args);
}
