/**
 * `stackport doctor [kind|k3d|prod]`: every external tool the laptop commands drive, where it is, its
 * version against the minimum, and whether the environment needs it. `requireTools` is the same check
 * as a precondition of `up`, failing on the first tool that is missing or too old.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { ENVIRONMENTS, type EnvironmentName } from '../model/schema';
import { OpsError, run, TOOLS } from './exec';
import { compareVersions, findVersion } from './versions';

export type ToolName = 'kubectl' | 'docker' | 'kind' | 'k3d' | 'helm' | 'tilt';

interface ToolCheck {
  /** Arguments that print the version. */
  readonly args: readonly string[];
  /** The version in that output, or undefined when it holds none. */
  readonly parse: (stdout: string) => string | undefined;
  readonly minimum: string;
  readonly neededFor: readonly EnvironmentName[];
}

/** Versions as the tools print them; the minimums are the oldest releases with the flags stackport passes. */
export const TOOL_CHECKS: Record<ToolName, ToolCheck> = {
  // {"clientVersion": {"gitVersion": "v1.31.0", ...}, "kustomizeVersion": "v5.4.2"}
  kubectl: { args: ['version', '--client', '-o', 'json'], parse: (out) => findVersion(JSON.parse(out).clientVersion?.gitVersion ?? ''), minimum: '1.30.0', neededFor: ['kind', 'k3d', 'prod'] },
  // "27.3.1"; the client version prints even when the daemon is down (the exit code says so).
  docker: { args: ['version', '--format', '{{.Client.Version}}'], parse: findVersion, minimum: '24.0.0', neededFor: ['kind', 'k3d'] },
  // "kind v0.27.0 go1.24.0 linux/amd64": the go version also looks like a version, so anchor on "kind v".
  kind: { args: ['version'], parse: (out) => findVersion(/kind v(\S+)/.exec(out)?.[1] ?? ''), minimum: '0.27.0', neededFor: ['kind'] },
  // "k3d version v5.8.3\nk3s version v1.31.5-k3s1 (default)": the first line is k3d's own.
  k3d: { args: ['version'], parse: (out) => findVersion(/k3d version v?(\S+)/.exec(out)?.[1] ?? ''), minimum: '5.7.0', neededFor: ['k3d'] },
  // "v3.17.0+g301108e"
  helm: { args: ['version', '--short'], parse: findVersion, minimum: '3.14.0', neededFor: ['kind', 'k3d'] },
  // "v0.33.21, built 2024-11-08"
  tilt: { args: ['version'], parse: (out) => findVersion(/^v?(\d+\.\d+\.\d+)/m.exec(out)?.[1] ?? ''), minimum: '0.33.0', neededFor: [] },
};

export type ToolStatus = 'ok' | 'too old' | 'missing' | 'unusable' | 'not needed';

export interface ToolReport {
  readonly tool: ToolName;
  readonly status: ToolStatus;
  readonly needed: boolean;
  readonly minimum: string;
  readonly version?: string;
  readonly path?: string;
  /** Why a found tool is unusable, or what else is worth knowing (docker daemon down). */
  readonly note?: string;
}

/** The executable `PATH` would run for `tool`, or undefined. */
export function whichTool(tool: string, pathVar = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVar.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, tool);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** One tool checked: found or not, its version, and whether `env` needs it. */
export function checkTool(tool: ToolName, env?: EnvironmentName): ToolReport {
  const c = TOOL_CHECKS[tool];
  const needed = env ? c.neededFor.includes(env) : c.neededFor.length > 0;
  const base = { tool, needed, minimum: c.minimum };
  const path = whichTool(tool);
  if (!path) return { ...base, status: needed ? 'missing' : 'not needed' };
  const r = run(tool, c.args, { timeoutMs: 20_000 });
  let version: string | undefined;
  try {
    version = c.parse(r.stdout);
  } catch {
    version = undefined;
  }
  const said = (r.stderr.trim() || r.stdout.trim()).split('\n')[0]?.slice(0, 160);
  if (!version) return { ...base, path, status: 'unusable', note: `\`${tool} ${c.args.join(' ')}\` printed no version${said ? `: ${said}` : ''}` };
  const note = r.status !== 0 ? `exit ${r.status}${said ? `: ${said}` : ''}` : undefined;
  // A docker client without its daemon cannot build images or run kind/k3d nodes.
  const status: ToolStatus = compareVersions(version, c.minimum) < 0 ? 'too old' : r.status !== 0 && tool === 'docker' ? 'unusable' : 'ok';
  return { ...base, path, version, status, note };
}

export function doctorReport(env?: EnvironmentName): ToolReport[] {
  return (Object.keys(TOOL_CHECKS) as ToolName[]).map((t) => checkTool(t, env));
}

/** The message for a tool that cannot be used: what it is for, what was found, and where to get it. */
export function toolProblem(r: ToolReport): string | undefined {
  const t = TOOLS[r.tool];
  const why = t ? `stackport needs it because it ${t.purpose}` : 'stackport needs it';
  const install = t ? `; install it from ${t.install}` : '';
  switch (r.status) {
    case 'missing':
      return `${r.tool} not found on PATH: ${why}${install}`;
    case 'too old':
      return `${r.tool} ${r.version} at ${r.path} is older than ${r.minimum}, the oldest stackport supports (${why})${install.replace('install it', 'upgrade it')}`;
    case 'unusable':
      return `${r.tool} at ${r.path} cannot be used: ${r.note}`;
    default:
      return undefined;
  }
}

/** Throws an OpsError for the first of `names` that is missing, too old or unusable. */
export function requireTools(names: readonly ToolName[], env?: EnvironmentName): ToolReport[] {
  const reports = names.map((n) => checkTool(n, env));
  for (const r of reports) {
    const problem = toolProblem({ ...r, status: r.status === 'not needed' ? 'missing' : r.status });
    if (problem) throw new OpsError(`${problem} (stackport doctor lists every tool it uses)`);
  }
  return reports;
}

/** The report as an aligned table. */
export function formatReport(reports: readonly ToolReport[], env?: EnvironmentName): string {
  const forEnv = env ? ` for ${env}` : '';
  const statusText = (r: ToolReport) => (r.needed ? r.status : r.status === 'not needed' ? `not needed${forEnv}` : `${r.status}, not needed${forEnv}`);
  const rows = [['tool', 'status', 'version', 'minimum', 'path'], ...reports.map((r) => [r.tool, statusText(r), r.version ?? '-', r.minimum, r.path ?? '-'])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  const notes = reports.flatMap((r) => (r.status === 'ok' && !r.note ? [] : [toolProblem(r) ?? (r.note ? `${r.tool}: ${r.note}` : '')])).filter(Boolean);
  return [`environment: ${env ?? 'any'}`, ...lines, ...(notes.length ? ['', ...notes] : [])].join('\n') + '\n';
}

/**
 * `stackport doctor [kind|k3d|prod]`: prints the table; exit 1 when a tool the environment needs is not
 * usable. The environment defaults to kind, as `stackport up` does.
 */
export async function doctor(args: string[], write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const [given, ...rest] = args;
  if (rest.length > 0 || (given !== undefined && !(ENVIRONMENTS as readonly string[]).includes(given))) {
    throw new OpsError(`usage: stackport doctor [${ENVIRONMENTS.join('|')}] (got: ${args.join(' ')})`, 2);
  }
  const env = (given ?? 'kind') as EnvironmentName;
  const reports = doctorReport(env);
  write(formatReport(reports, env));
  return reports.some((r) => r.needed && r.status !== 'ok') ? 1 : 0;
}
