/**
 * The policy gate on imported compose projects: every importer fixture (test/fixtures/compose)
 * and every case of the public corpus (test/fixtures/compose-public) that imports is synthesized
 * for every environment, and the gate's five tools run over all of it, one run per environment.
 * Where the importer leaves prod's edge host and class for the user to fill in, they are filled in
 * as a user would (`<case>.example.com`, class `eg`), so prod is checked too.
 *
 *   npm run lint:imports [-- --markdown FILE]
 *
 * Prints one row per case (findings per tool), then every check found, with the number of cases
 * and objects that have it. A finding that what the compose file leaves out explains (no
 * healthcheck, an unpinned image; COMPOSE_GAPS says why for each check) is expected. Any other
 * finding is one stackport causes: it is printed in full and the exit code is 1.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { synthesize } from '../../charts/synth';
import type { ImportResult } from '../../importer/import';
import { ENVIRONMENTS, type StackSpec } from '../../model/schema';
import { caseNames, loadCase } from '../../test/importer/public-corpus';
import { runFixture } from '../../test/importer/run-fixture';
import { runImport } from '../corpus-report';
import { policyEnv, TOOL_NAMES, tools, type Finding } from './lint';

const root = resolve(__dirname, '..', '..');
const FIXTURES = join(root, 'test/fixtures/compose');

/** What a compose file leaves out, and the checks that fire because of it. */
interface ComposeGap {
  readonly checks: readonly string[];
  readonly why: string;
  /** Holds for the object the check fired on, so a finding stackport causes is never explained away. */
  readonly holds: (obj: any) => boolean;
}

const containers = (obj: any): any[] => {
  const spec = obj.kind === 'CronJob' ? obj.spec?.jobTemplate?.spec?.template?.spec : obj.spec?.template?.spec;
  return spec?.containers ?? [];
};

export const COMPOSE_GAPS: readonly ComposeGap[] = [
  {
    checks: ['checkov CKV_K8S_8', 'checkov CKV_K8S_9', 'kube-score pod-probes', 'kyverno require-pod-probes/autogen-validate-probes'],
    why: 'no healthcheck in the compose service of a continuous worker: nothing stackport can probe (a worker\'s ports, if any, serve its own helpers and may open late)',
    holds: (obj) => obj.metadata?.labels?.['app.kubernetes.io/component'] === 'worker' && containers(obj).some((c) => !c.readinessProbe && !c.livenessProbe),
  },
  {
    checks: ['kube-score pod-probes-identical'],
    why: 'one health check at most in the compose service (its healthcheck, or only a port): readiness and liveness both run it, liveness less often and with more patience',
    holds: (obj) => containers(obj).some((c) => c.readinessProbe && c.livenessProbe && c.livenessProbe.periodSeconds > c.readinessProbe.periodSeconds),
  },
  {
    checks: ['checkov CKV_K8S_14', 'kube-score container-image-tag', 'kyverno disallow-latest-tag/autogen-require-image-tag', 'kyverno disallow-latest-tag/autogen-validate-image-tag', 'trivy KSV-0013'],
    why: 'the compose file names the image without a version (or as latest): kind and k3d take it as it is, prod refuses it until the user pins one',
    holds: (obj) => containers(obj).some((c) => /(^|\/)[^/:@]+(:latest)?$/.test(String(c.image))),
  },
  {
    checks: ['trivy KSV-0117'],
    why: 'the image listens on a port below 1024, as the compose file publishes it',
    holds: (obj) => containers(obj).some((c) => (c.ports ?? []).some((p: any) => p.containerPort < 1024)),
  },
  {
    checks: ['trivy KSV-01010'],
    why: "the compose project's settings and config files, copied as they are (values the importer recognises as secrets go to Secrets); Trivy flags field names such as username or tlsClientKey, and takes any value of 3 to 20 capitals or digits (CACHE_TTL=300) for a passport number",
    holds: (obj) => obj.kind === 'ConfigMap' && obj.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'stackport',
  },
];

/** The gap that explains a finding on this object, if any. */
function gapFor(key: string, obj: any): ComposeGap | undefined {
  return COMPOSE_GAPS.find((g) => g.checks.includes(key) && g.holds(obj));
}

interface Case {
  readonly name: string;
  readonly error?: string;
  /** Environments synthesized (prod refuses images without a pinned version until the user pins them). */
  readonly envs: readonly string[];
  readonly prodError?: string;
}

async function importAll(out: string): Promise<Case[]> {
  const jobs: { name: string; run: () => Promise<ImportResult> }[] = [
    ...readdirSync(FIXTURES).sort().map((n) => ({ name: `fixture/${n}`, run: () => runFixture(join(FIXTURES, n)) })),
    ...caseNames().map((n) => ({ name: `corpus/${n}`, run: () => runImport(loadCase(n)) })),
  ];
  const cases: Case[] = [];
  for (const j of jobs) {
    try {
      const result = await j.run();
      const spec = withProdEdge(result.spec, j.name);
      synthesize(spec, join(out, j.name), ['kind', 'k3d']);
      try {
        synthesize(spec, join(out, j.name), ['prod']);
        cases.push({ name: j.name, envs: ENVIRONMENTS });
      } catch (e) {
        cases.push({ name: j.name, envs: ['kind', 'k3d'], prodError: firstProblem(e) });
      }
    } catch (e) {
      cases.push({ name: j.name, envs: [], error: firstProblem(e) });
    }
  }
  return cases;
}

const firstProblem = (e: unknown): string => {
  const lines = (e as Error).message.split('\n');
  return (lines.find((l) => l.startsWith('  - ')) ?? lines[0]).replace(/^ {2}- (stack spec: )?/, '');
};

/** The spec with prod's edge host and class filled in where the importer left them to the user. */
function withProdEdge(spec: StackSpec, name: string): StackSpec {
  const prod = spec.environments?.prod;
  const edge = { host: `${name.split('/')[1]}.example.com`, className: 'eg', ...prod?.edge };
  return { ...spec, environments: { ...spec.environments, prod: { ...prod, edge } } } as StackSpec;
}

/** `fixture/x` or `corpus/x` and the environment, from a synthesized file's path under `out`. */
function caseOf(out: string, file: string): { name: string; env: string } {
  const parts = relative(out, file).split(sep);
  return { name: `${parts[0]}/${parts[1]}`, env: parts[2] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { markdown: { type: 'string' } } });
  const out = mkdtempSync(join(tmpdir(), 'stackport-lint-imports-'));
  try {
    const t0 = Date.now();
    const cases = await importAll(out);
    const imported = cases.filter((c) => !c.error);
    const files = imported.flatMap((c) => c.envs.flatMap((e) => readdirSync(join(out, c.name, e)).filter((f) => f.endsWith('.k8s.yaml')).map((f) => join(out, c.name, e, f))));
    const withProd = imported.filter((c) => c.envs.includes('prod')).length;
    console.log(`imported ${imported.length} of ${cases.length} cases, ${withProd} with prod (${files.length} manifest files) in ${Date.now() - t0} ms`);
    const findings: Finding[] = [];
    const missing: string[] = [];
    for (const t of tools(policyEnv())) {
      if ('unavailable' in t) {
        missing.push(t.unavailable);
        continue;
      }
      const t1 = Date.now();
      const found = ENVIRONMENTS.flatMap((e) => t.run(files.filter((f) => caseOf(out, f).env === e), e));
      console.log(`${t.name}: ${found.length} finding(s) in ${Date.now() - t1} ms`);
      findings.push(...found);
    }
    const objectsOf = new Map(files.map((f) => [f, parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS()).filter(Boolean)]));
    const located = findings.map((f) => {
      if (!f.file) throw new Error(`${f.tool} reported ${f.object} ${f.check} without its file`);
      const key = `${f.tool} ${f.check}`;
      // kind/name (Checkov: kind.namespace.name)
      const [kind, name] = f.object.includes('/') ? f.object.split('/') : [f.object.split('.')[0], f.object.split('.').slice(2).join('.')];
      const obj = objectsOf.get(f.file)?.find((o: any) => o.kind === kind && o.metadata?.name === name);
      return { ...f, ...caseOf(out, f.file), key, gap: obj ? gapFor(key, obj) : undefined };
    });

    const rows = [['case', ...TOOL_NAMES]];
    for (const c of cases) rows.push([c.name, ...TOOL_NAMES.map((t) => (c.error ? '-' : String(located.filter((f) => f.name === c.name && f.tool === t).length)))]);
    const checks = [...new Set(located.map((f) => f.key))].sort();
    const checkRows = [['tool check', 'cases', 'findings', 'why'], ...checks.map((k) => {
      const of = located.filter((f) => f.key === k);
      const explained = of.filter((f) => f.gap);
      const why = [...new Set(explained.map((f) => f.gap!.why))].join('; ');
      return [k, String(new Set(of.map((f) => f.name)).size), String(of.length), explained.length === of.length ? why : `${of.length - explained.length} NOT EXPLAINED by the compose file${why ? `; the others: ${why}` : ''}`];
    })];
    const table = (r: string[][]) => {
      const width = r[0].map((_, i) => Math.max(...r.map((x) => x[i].length)));
      return r.map((x) => x.map((c, i) => c.padEnd(width[i])).join('  ').trimEnd()).join('\n');
    };
    console.log(table(rows));
    console.log();
    console.log(table(checkRows));
    for (const c of cases.filter((x) => x.error)) console.log(`not imported: ${c.name}: ${c.error}`);
    for (const c of cases.filter((x) => x.prodError)) console.log(`kind and k3d only: ${c.name}: prod needs the user: ${c.prodError}`);
    const unexplained = located.filter((f) => !f.gap);
    for (const f of unexplained) console.log(`FINDING ${f.name} ${f.env} ${f.object} ${f.key}: ${f.message}`);
    for (const m of missing) console.log(`n/a ${m}`);
    if (values.markdown) {
      const md = (r: string[][]) => [`| ${r[0].join(' | ')} |`, `| ${r[0].map(() => '---').join(' | ')} |`, ...r.slice(1).map((x) => `| ${x.join(' | ')} |`)].join('\n');
      writeFileSync(values.markdown, `${md(rows)}\n\n${md(checkRows)}\n`);
    }
    if (unexplained.length > 0 || missing.length > 0) {
      console.error(`${unexplained.length} finding(s) no compose gap explains${missing.length > 0 ? `, ${missing.length} tool(s) not installed` : ''}`);
      process.exitCode = 1;
    } else console.log(`imports gate: ${located.length} finding(s), each explained by what the compose file leaves out`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (require.main === module) void main();
