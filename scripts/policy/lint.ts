/**
 * The policy gate: synthesizes every environment, runs the five tools on dist/<env>, prints one
 * table (tool x environment: findings) and the findings, and exits 1 on any finding or on a tool
 * that is not installed.
 *
 *   npm run lint:k8s [-- --dist DIR] [--no-synth]
 *
 * Tools come from scripts/policy/install.sh (paths from scripts/policy/env.sh): kubeconform
 * (strict schemas), kube-score (CRITICAL and WARNING grades), Checkov (failed checks), Trivy
 * (`trivy config`, every KSV check at its default severity, offline) and the Kyverno CLI
 * (`kyverno apply` of scripts/policy/kyverno/: Pod Security restricted and the vendored library
 * policies). Exceptions are the objects' own annotations (charts/policy.ts); Trivy and Kyverno
 * have no annotation of their own, so trivy.ts and kyverno.ts turn `stackport.dev/policy-exceptions`
 * into an ignore file and PolicyExceptions scoped to exactly those objects.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ENVIRONMENTS } from '../../model/schema';
import { type Finding, run } from './objects';
import { kyvernoFindings } from './kyverno';
import { trivyFindings } from './trivy';

export type { Finding };

export type Tool = { name: string; run: (files: string[], env: string) => Finding[] } | { name: string; unavailable: string };

/** The gate's tools, in table order. */
export const TOOL_NAMES = ['kubeconform', 'kube-score', 'checkov', 'trivy', 'kyverno'] as const;

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

export function tools(env: Record<string, string>): Tool[] {
  const have = (p: string | undefined) => Boolean(p && existsSync(p));
  const unavailable = (tool: string) => `${tool} is not installed: run bash scripts/policy/install.sh`;
  const list: Tool[] = [];
  if (have(env.STACKPORT_KUBECONFORM)) {
    list.push({
      name: 'kubeconform',
      run: (files, e) => {
        const r = run(env.STACKPORT_KUBECONFORM, ['-strict', '-summary', '-output', 'json', '-kubernetes-version', env.STACKPORT_K8S_VERSION, '-schema-location', env.STACKPORT_K8S_SCHEMA_LOCATION, '-schema-location', env.STACKPORT_CRD_SCHEMA_LOCATION, ...files], env);
        const res: any[] = JSON.parse(r.stdout).resources ?? [];
        const found = res.filter((x) => x.status !== 'statusValid').map((x) => ({ tool: 'kubeconform', env: e, object: `${x.kind}/${x.name}`, check: x.status, message: x.msg, file: resolve(x.filename) }));
        if (r.status !== 0 && found.length === 0) throw new Error(`kubeconform exited ${r.status} without findings: ${r.stdout}`);
        return found;
      },
    });
  } else list.push({ name: 'kubeconform', unavailable: unavailable('kubeconform') });
  if (have(env.STACKPORT_KUBE_SCORE)) {
    list.push({
      name: 'kube-score',
      // One file per run: given several, kube-score matches HPAs and Services across files
      // (kind's Deployment "targeted" by prod's HPA) and reports the wrong file.
      run: (files, e) =>
        files.flatMap((file) => {
          const r = run(env.STACKPORT_KUBE_SCORE, ['score', '--output-format', 'json', ...KUBE_SCORE_OPTIONAL.flatMap((t) => ['--enable-optional-test', t]), file], env);
          const objects: any[] = JSON.parse(r.stdout);
          return objects.flatMap((o) =>
            o.checks
              .filter((c: any) => !c.skipped && c.grade < 10 && c.grade !== 7)
              .map((c: any) => ({ tool: 'kube-score', env: e, object: `${o.type_meta.kind}/${o.object_meta.name}`, check: c.check.id, message: (c.comments ?? []).map((x: any) => x.summary).join('; '), file })),
          );
        }),
    });
  } else list.push({ name: 'kube-score', unavailable: unavailable('kube-score') });
  if (have(env.STACKPORT_CHECKOV)) {
    list.push({
      name: 'checkov',
      // All files in one run: Checkov takes seconds to start, and reports each check's file.
      run: (files, e) => {
        if (files.length === 0) return [];
        const r = run(env.STACKPORT_CHECKOV, ['--framework', 'kubernetes', '--skip-download', '--quiet', '--compact', '--output', 'json', '--file', ...files], env);
        const parsed = JSON.parse(r.stdout);
        const reports: any[] = Array.isArray(parsed) ? parsed : [parsed];
        return reports.flatMap((rep) => (rep.results?.failed_checks ?? []).map((f: any) => ({ tool: 'checkov', env: e, object: f.resource, check: f.check_id, message: f.check_name, file: f.file_abs_path })));
      },
    });
  } else list.push({ name: 'checkov', unavailable: unavailable('checkov') });
  if (have(env.STACKPORT_TRIVY)) list.push({ name: 'trivy', run: (files, e) => trivyFindings(files, e, env) });
  else list.push({ name: 'trivy', unavailable: unavailable('trivy') });
  if (have(env.STACKPORT_KYVERNO)) list.push({ name: 'kyverno', run: (files, e) => kyvernoFindings(files, e, env) });
  else list.push({ name: 'kyverno', unavailable: unavailable('kyverno') });
  return list;
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
  const missing = all.filter((t) => 'unavailable' in t);
  for (const t of missing) console.log(`n/a ${t.name}: ${(t as { unavailable: string }).unavailable}`);
  for (const f of findings) console.log(`FINDING ${f.tool} ${f.env} ${f.object} ${f.check}: ${f.message}`);
  if (findings.length > 0 || missing.length > 0) {
    console.error(`${findings.length} finding(s)${missing.length > 0 ? `, ${missing.length} tool(s) not installed` : ''}`);
    process.exitCode = 1;
  } else console.log('policy gate: 0 findings');
}

if (require.main === module) main();
