/**
 * The `stackport` command (bin/stackport.js runs it):
 *
 *   stackport import FILE... [--project-directory D] [--env-file F]... [--profile P]... [--prod-host H] [--prod-class C] --out DIR
 *   stackport synth --spec stack.yaml [--out dist] [--env kind|k3d|prod]... [--image COMPONENT=REF]... [--live-sync]
 *   stackport graph [--spec stack.yaml] [--env kind|k3d|prod] [--format mermaid|dot] [--out FILE]
 *   stackport up|status|logs|run|psql|redis-cli|open|backup|restore|down|dev|doctor ...  (ops/)
 *   stackport --help | --version
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ComposeError, formatKeyPath } from './importer/load/errors';
import type { ImportOptions } from './importer/import';
import { describeSpecError, SpecError } from './model/errors';
import { packageRoot } from './model/package-files';
import { ENVIRONMENTS, type EnvironmentName } from './model/schema';

// Each command loads only what it needs: importing never loads cdk8s, --version loads nothing.
const importer = () => require('./importer/import') as typeof import('./importer/import');
// The laptop commands are a bundle of their own (lib/ops.cjs, see bin/ensure-built.js), which
// defines OPS_MODULE; run from the sources, they are the ops/ folder.
declare const OPS_MODULE: string | undefined;
const LAPTOP_COMMANDS = ['up', 'status', 'logs', 'run', 'psql', 'redis-cli', 'open', 'backup', 'restore', 'down', 'dev', 'doctor'];
const ops = (): typeof import('./ops/index') => require(typeof OPS_MODULE === 'string' ? OPS_MODULE : './ops/index');

const USAGE = `usage: stackport <command> [options]

Commands:
  import FILE...   turn docker compose files into DIR/stack.yaml (later files override earlier ones)
      --out DIR          where stack.yaml goes (required)
      --project-directory D
                         the project folder (default: the first file's); the only
                         folder files are read from, relative paths start here
      --env-file F       variables for interpolation instead of .env (repeatable)
      --profile P        activate a compose profile (repeatable)
      --prod-host H      public host name for the prod environment
      --prod-class C     GatewayClass of the prod cluster
  synth            synthesize a stack spec into <out>/<environment>/
      --spec FILE        the stack.yaml (default: the reference stack)
      --out DIR          output folder (default: dist)
      --env E            kind, k3d or prod (repeatable; default: all three)
      --image C=REF      the image of component C, e.g. from a release pipeline (repeatable)
      --live-sync        dev manifests (kind, k3d): the folders of each build.sync writable in
                         the pods, so Tilt and Skaffold can copy changed files in (stackport dev)
  graph            draw the stack as its manifests will behave: components, admitted flows, routes
      --spec FILE        the stack.yaml (default: the reference stack)
      --env E            kind, k3d or prod (default: kind)
      --format F         mermaid (default) or dot
      --out FILE         write there instead of standard output

On a cluster (every command prints the kube context it acts on first; without --context it is the
environment's own kind or k3d cluster, never the kubeconfig's current one; prod needs --context):
  up [ENV]         create the kind/k3d cluster if needed, install its add-ons, build and load images
                   of components with a build field, create Secrets, apply (removing what the spec no
                   longer has), wait for every component, print the URLs
      --image C=REF      as for synth (repeatable)
      --no-addons        install no add-on;  --skip-addon ID  leave one out (repeatable)
      --skip-missing     apply what the cluster can take when an add-on's API is missing
      --timeout S        seconds to wait for the stack (default 600)
  status [ENV]     one table: component, kind, ready, restarts, age, URL, last run
  logs COMPONENT   its pods' logs  (-f follow, --tail N, --previous)
  run WORKER       run a scheduled worker now; its exit code is this command's
  psql [DB]        psql in the PostgreSQL pod  (--read-only, -c SQL)
  redis-cli [R]    redis-cli in the Redis pod, logged in
  open COMPONENT   port-forward a web component or pgAdmin to 127.0.0.1, print the URL and login
  backup DB --to FILE      pg_dump of one database (custom format)
  restore DB --from FILE   replace the database's contents with a dump, in one transaction
  down [ENV]       remove the stack, keep its data  (--delete-data, --delete-cluster)
  dev [ENV]        write a Tiltfile and skaffold.yaml next to the spec (builds, live-update syncs
                   from the spec's build.sync) and start tilt up when Tilt is installed  (--no-tilt)
  doctor [ENV]     the tools these commands use, their versions and what is missing
      common: --spec FILE (default ./stack.yaml, else the reference stack), --env E (default kind),
              --context C, --kubeconfig F

Options:
  -h, --help       show this help
  -v, --version    show the version`;

function version(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
}

class UsageError extends Error {}

/** The options of `stackport import`; `environment` is the process environment. */
export function parseImportArgs(args: string[], environment: Record<string, string | undefined>): ImportOptions & { out?: string } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      file: { type: 'string', short: 'f', multiple: true },
      'project-directory': { type: 'string' },
      'env-file': { type: 'string', multiple: true },
      profile: { type: 'string', multiple: true },
      'prod-host': { type: 'string' },
      'prod-class': { type: 'string' },
    },
  });
  return {
    files: [...(values.file ?? []), ...positionals],
    projectDirectory: values['project-directory'],
    envFiles: values['env-file'],
    profiles: values.profile,
    environment,
    prodHost: values['prod-host'],
    prodClass: values['prod-class'],
    out: values.out,
  };
}

async function runImport(args: string[]): Promise<number> {
  const opts = parseImportArgs(args, process.env);
  if (opts.files.length === 0) throw new UsageError('import: give at least one compose file');
  if (!opts.out) throw new UsageError('import: --out DIR is required');
  const { formatWarning, importCompose, writeImport } = importer();
  const result = await importCompose(opts);
  const file = writeImport(result, opts.out);
  console.log(`wrote ${file}`);
  // The picture needs a synthesis (cdk8s), so it is loaded only here.
  const { graphMarkdown } = require('./graph/index') as typeof import('./graph/index');
  const graphFile = join(opts.out, 'graph.md');
  writeFileSync(graphFile, graphMarkdown(result.spec, file));
  console.log(`wrote ${graphFile}\n`);
  for (const [service, lines] of result.summary) {
    console.log(`${service} -> ${lines[0]}`);
    for (const l of lines.slice(1)) console.log(`    ${l}`);
  }
  if (result.found.length > 0) {
    // Values are never printed; the list lets a user check that nothing secret was left in the open.
    console.log(`\nValues turned into Secret references (${result.found.length}; check that none is missing):`);
    const width = Math.max(...result.found.map((f) => f.service.length + f.variable.length + 1));
    for (const f of result.found) console.log(`  ${`${f.service} ${f.variable}`.padEnd(width)}  ${f.rule}`);
  }
  if (result.secrets.length > 0) {
    console.log('\nSecrets to create (see the top of stack.yaml):');
    for (const s of result.secrets) console.log(`  ${s.secret}/${s.key}  from ${s.from}`);
  }
  if (result.warnings.length > 0) {
    console.log(`\n${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'} (compose keys not translated as they are):`);
    for (const w of result.warnings) console.log(`  warning: ${formatWarning(w)}`);
  }
  return 0;
}

/** `stackport synth`; also the cdk8s app (main.ts), whose default output folder cdk8s sets in CDK8S_OUTDIR. */
function runSynth(args: string[], defaultOut = 'dist'): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      spec: { type: 'string' },
      out: { type: 'string', short: 'o' },
      env: { type: 'string', multiple: true },
      image: { type: 'string', multiple: true },
      'live-sync': { type: 'boolean' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`synth: unexpected argument ${positionals[0]}`);
  const environments = (values.env ?? [...ENVIRONMENTS]).flatMap((e) => e.split(','));
  const unknown = environments.filter((e) => !ENVIRONMENTS.includes(e as EnvironmentName));
  if (unknown.length > 0) throw new UsageError(`--env ${unknown.join(', ')}: expected one of ${ENVIRONMENTS.join(', ')}`);
  if (values['live-sync'] && (values.env === undefined || environments.includes('prod'))) {
    throw new UsageError('--live-sync makes dev manifests for a laptop cluster: give --env kind or --env k3d (never prod)');
  }
  const { loadSpecFile } = require('./model/load') as typeof import('./model/load');
  const { synthesize } = require('./charts/synth') as typeof import('./charts/synth');
  const { withImages } = require('./model/images') as typeof import('./model/images');
  const spec = withImages(values.spec ? loadSpecFile(values.spec, { onNote: printNote }) : require('./model/reference').referenceStack, values.image ?? []);
  const results = synthesize(spec, values.out ?? defaultOut, environments as EnvironmentName[], values.spec, { liveSync: values['live-sync'] });
  for (const r of results) {
    console.log(`${r.environment.padEnd(5)} ${String(r.objects).padStart(4)} objects  ${r.file}`);
  }
  // Like the importer's warnings: on stdout, after what was written, one line each.
  for (const w of results.flatMap((r) => r.warnings)) console.log(`warning: ${w}`);
  return 0;
}

function runGraph(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { spec: { type: 'string' }, env: { type: 'string' }, format: { type: 'string' }, out: { type: 'string', short: 'o' } },
  });
  if (positionals.length > 0) throw new UsageError(`graph: unexpected argument ${positionals[0]}`);
  const env = (values.env ?? 'kind') as EnvironmentName;
  if (!ENVIRONMENTS.includes(env)) throw new UsageError(`--env ${values.env}: expected one of ${ENVIRONMENTS.join(', ')}`);
  const format = values.format ?? 'mermaid';
  if (format !== 'mermaid' && format !== 'dot') throw new UsageError(`--format ${format}: expected mermaid or dot`);
  const { loadSpecFile } = require('./model/load') as typeof import('./model/load');
  const { graphOf } = require('./graph/index') as typeof import('./graph/index');
  const spec = values.spec ? loadSpecFile(values.spec, { onNote: printNote }) : require('./model/reference').referenceStack;
  const text = graphOf(spec, env, format, values.spec);
  if (values.out) {
    writeFileSync(values.out, text);
    console.log(`wrote ${values.out}`);
  } else process.stdout.write(text);
  return 0;
}

/** Runs the command line; resolves to the exit code. `defaultOut` is synth's output folder when --out is not given. */
export async function main(argv: string[], defaultOut = 'dist'): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === '-v' || command === '--version') {
      console.log(version());
      return 0;
    }
    if (rest.includes('-h') || rest.includes('--help')) {
      console.log(USAGE);
      return 0;
    }
    if (command === 'import') return await runImport(rest);
    if (command === 'synth') return runSynth(rest, defaultOut);
    if (command === 'graph') return runGraph(rest);
    if (LAPTOP_COMMANDS.includes(command)) return await ops().runOpsCommand(command, rest);
    throw new UsageError(`unknown command "${command}"`);
  } catch (e) {
    return reportError(e);
  }
}

/** Prints an error the way a user should see it (never a stack trace); returns the exit code. */
export function reportError(e: unknown): number {
  if (e instanceof ComposeError) {
    // One problem fits on one line; several are listed under a heading.
    console.error(`error: ${e.issues.length === 1 ? oneLine(e.issues[0].file, e.issues[0].location, e.issues[0].path.length ? formatKeyPath(e.issues[0].path) : undefined, e.issues[0].message) : e.message}`);
    return 1;
  }
  if (e instanceof SpecError) {
    console.error(`error: ${describeSpecError(e)}`);
    return 1;
  }
  if ((e as Error)?.name === 'OpsError') {
    // From the laptop commands' bundle, whose classes are not this bundle's: matched by name.
    console.error(`error: ${(e as Error).message}`);
    return (e as { code?: number }).code ?? 1;
  }
  if (e instanceof UsageError || String((e as { code?: unknown })?.code ?? '').startsWith('ERR_PARSE_ARGS')) {
    console.error(`error: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  return reportUnexpected(e);
}

/** A note (not an error): how something the user wrote was read. Stderr, so piped output stays clean. */
export function printNote(note: string): void {
  console.error(`note: ${note}`);
}

/** An error nobody anticipated: one line saying so and how to report it; the trace only on request. */
export function reportUnexpected(e: unknown): number {
  if (process.env.STACKPORT_DEBUG === '1') console.error(e);
  const what = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e).split('\n')[0];
  console.error(`error: unexpected failure (${what}); this is a bug in stackport: please report it with the command you ran${process.env.STACKPORT_DEBUG === '1' ? ' and the trace above' : ' (run it again with STACKPORT_DEBUG=1 to get the stack trace)'}`);
  return 70;
}

function oneLine(file: string, location: string | undefined, path: string | undefined, message: string): string {
  return `${file}${location ? `:${location}` : ''}: ${path ? `${path}: ` : ''}${message}`;
}
