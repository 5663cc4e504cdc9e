/**
 * The laptop workflow (`stackport up`, `status`, `logs`, `run`, `psql`, `open`, `backup`, `down`,
 * `dev`, `doctor`). Bundled apart from the rest (lib/ops.cjs): synth and import never load the
 * Kubernetes client.
 */
import { describeSpecError, SpecError } from '../model/errors';
import { backupCommand, downCommand, logsCommand, openCommand, psqlCommand, redisCliCommand, restoreCommand, runCommand, statusCommand } from './commands';
import { dev } from './dev';
import { doctor } from './doctor';
import { OpsError } from './exec';
import { upCommand } from './up';

export { OpsError } from './exec';

type Command = (args: string[]) => Promise<number> | number;

/** The laptop commands by name; cli.ts sends any of these here. */
export const COMMANDS: Record<string, Command> = {
  up: upCommand,
  status: statusCommand,
  logs: logsCommand,
  run: runCommand,
  psql: psqlCommand,
  'redis-cli': redisCliCommand,
  open: openCommand,
  backup: backupCommand,
  restore: restoreCommand,
  down: downCommand,
  dev,
  doctor: (args) => doctor(args),
};

export async function runOpsCommand(command: string, args: string[]): Promise<number> {
  const c = COMMANDS[command];
  if (!c) throw new OpsError(`unknown command "${command}"`, 2);
  try {
    return await c(args);
  } catch (e) {
    // This bundle's own SpecError and parseArgs errors, which cli.ts cannot match by class.
    if (e instanceof SpecError) throw new OpsError(describeSpecError(e));
    if (String((e as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS')) throw new OpsError(`${command}: ${(e as Error).message} (stackport --help lists the options)`, 2);
    throw e;
  }
}
