/**
 * The policy gate: synthesizes every environment, runs each installed tool on dist/<env>, prints
 * one table (tool x environment: findings) and the findings, and exits 1 on any finding.
 *
 *   npm run lint:k8s [-- --dist DIR] [--no-synth]
 *
 * Tools come from scripts/policy/install.sh (paths from scripts/policy/env.sh). A tool the
 * registries refuse here (recorded under unavailable/) is shown as such, never counted as clean.
 * kube-score findings are CRITICAL and WARNING grades; Checkov findings are failed checks.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ENVIRONMENTS } from '../../model/schema';

export interface Finding {
  readonly tool: string;
  readonly env: string;
  readonly object: string;
  readonly check: string;
  readonly message: string;
}

type Tool = { name: string; run: (files: string[], env: string) => Finding[] } | { name: string; unavailable: string };

const root = resolve(__dirname, '..', '..');

/**
 * Opt-in kube-score checks that matter here: every pod must set a seccomp profile (Pod Security
 * "restricted" needs it), and container ports must be named and unique (ServiceMonitors and
 * probes refer to them by name). Not the requests-equal-limits checks: local presets are
 * deliberately burstable to fit a laptop.
 */
export const KUBE_SCORE_OPTIONAL = ['container-seccomp-profile', 'container-ports-check'];

/** The variables scripts/policy/env.sh exports. */
export function policyEnv(): Record<string, string> {
  const out = execFileSync('bash', ['-c', 'source scripts/policy/env.sh && env -0'], { cwd: root, encoding: 'utf8' });
  return Object.fromEntries(out.split('\0').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function run(cmd: string, args: string[], env: Record<string, string>): { stdout: string; status: number | null } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  return { stdout: r.stdout, status: r.status };
}

export function tools(env: Record<string, string>): Tool[] {
  const have = (p: string | undefined) => Boolean(p && existsSync(p));
  const unavailable = (tool: string) => {
    const f = join(env.STACKPORT_POLICY_UNAVAILABLE_DIR ?? '', tool);
    return existsSync(f) ? execFileSync('head', ['-1', f], { encoding: 'utf8' }).trim() : 'not installed: run bash scripts/policy/install.sh';
  };
  const list: Tool[] = [];
  if (have(env.STACKPORT_KUBECONFORM)) {
    list.push({
      name: 'kubeconform',
      run: (files, e) => {
        const r = run(env.STACKPORT_KUBECONFORM, ['-strict', '-summary', '-output', 'json', '-kubernetes-version', env.STACKPORT_K8S_VERSION, '-schema-location', env.STACKPORT_K8S_SCHEMA_LOCATION, '-schema-location', env.STACKPORT_CRD_SCHEMA_LOCATION, ...files], env);
        const res: any[] = JSON.parse(r.stdout).resources ?? [];
        const found = res.filter((x) => x.status !== 'statusValid').map((x) => ({ tool: 'kubeconform', env: e, object: `${x.kind}/${x.name}`, check: x.status, message: x.msg }));
        if (r.status !== 0 && found.length === 0) throw new Error(`kubeconform exited ${r.status} without findings: ${r.stdout}`);
        return found;
      },
    });
  } else list.push({ name: 'kubeconform', unavailable: unavailable('kubeconform') });
  if (have(env.STACKPORT_KUBE_SCORE)) {
    list.push({
      name: 'kube-score',
      run: (files, e) => {
        const r = run(env.STACKPORT_KUBE_SCORE, ['score', '--output-format', 'json', ...KUBE_SCORE_OPTIONAL.flatMap((t) => ['--enable-optional-test', t]), ...files], env);
        const objects: any[] = JSON.parse(r.stdout);
        return objects.flatMap((o) =>
          o.checks
            .filter((c: any) => !c.skipped && c.grade < 10 && c.grade !== 7)
            .map((c: any) => ({ tool: 'kube-score', env: e, object: `${o.type_meta.kind}/${o.object_meta.name}`, check: c.check.id, message: (c.comments ?? []).map((x: any) => x.summary).join('; ') })),
        );
      },
    });
  } else list.push({ name: 'kube-score', unavailable: unavailable('kube-score') });
  if (have(env.STACKPORT_CHECKOV)) {
    list.push({
      name: 'checkov',
      run: (files, e) =>
        files.flatMap((file) => {
          const r = run(env.STACKPORT_CHECKOV, ['--framework', 'kubernetes', '--skip-download', '--quiet', '--compact', '--output', 'json', '--file', file], env);
          const parsed = JSON.parse(r.stdout);
          const reports: any[] = Array.isArray(parsed) ? parsed : [parsed];
          return reports.flatMap((rep) => (rep.results?.failed_checks ?? []).map((f: any) => ({ tool: 'checkov', env: e, object: f.resource, check: f.check_id, message: f.check_name })));
        }),
    });
  } else list.push({ name: 'checkov', unavailable: unavailable('checkov') });
  for (const [name, key] of [['kube-linter', 'STACKPORT_KUBE_LINTER'], ['polaris', 'STACKPORT_POLARIS']] as const) {
    if (!have(env[key])) list.push({ name, unavailable: unavailable(name) });
    else if (name === 'kube-linter')
      list.push({ name, run: (files, e) => JSON.parse(run(env[key], ['lint', '--format', 'json', ...files], env).stdout).Reports?.map((x: any) => ({ tool: name, env: e, object: `${x.Object.K8sObject.GroupVersionKind.Kind}/${x.Object.K8sObject.Name}`, check: x.Check, message: x.Diagnostic.Message })) ?? [] });
    else
      list.push({ name, run: (files, e) => files.flatMap((f) => polarisFindings(JSON.parse(run(env[key], ['audit', '--audit-path', f, '--format', 'json'], env).stdout), e)) });
  }
  return list;
}

function polarisFindings(report: any, env: string): Finding[] {
  const out: Finding[] = [];
  for (const r of report.Results ?? []) {
    const add = (results: any) => Object.values(results ?? {}).forEach((c: any) => !c.Success && out.push({ tool: 'polaris', env, object: `${r.Kind}/${r.Name}`, check: c.ID, message: c.Message }));
    add(r.Results);
    add(r.PodResult?.Results);
    for (const c of r.PodResult?.ContainerResults ?? []) add(c.Results);
  }
  return out;
}

function main(): void {
  const { values } = parseArgs({ options: { dist: { type: 'string', default: 'dist' }, 'no-synth': { type: 'boolean' } } });
  const dist = resolve(root, values.dist!);
  if (!values['no-synth']) execFileSync(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'main.ts', '--out', dist], { cwd: root, stdio: 'inherit' });
  const env = policyEnv();
  const all = tools(env);
  const table: string[][] = [['tool', ...ENVIRONMENTS]];
  const findings: Finding[] = [];
  for (const t of all) {
    const row = [t.name];
    for (const e of ENVIRONMENTS) {
      if ('unavailable' in t) {
        row.push('n/a');
        continue;
      }
      const files = readdirSync(join(dist, e)).filter((f) => f.endsWith('.k8s.yaml')).map((f) => join(dist, e, f));
      const f = t.run(files, e);
      findings.push(...f);
      row.push(String(f.length));
    }
    table.push(row);
  }
  const width = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  for (const r of table) console.log(r.map((c, i) => c.padEnd(width[i])).join('  '));
  for (const t of all) if ('unavailable' in t) console.log(`n/a ${t.name}: ${t.unavailable}`);
  for (const f of findings) console.log(`FINDING ${f.tool} ${f.env} ${f.object} ${f.check}: ${f.message}`);
  if (findings.length > 0) {
    console.error(`${findings.length} finding(s)`);
    process.exitCode = 1;
  } else console.log('policy gate: 0 findings');
}

if (require.main === module) main();
