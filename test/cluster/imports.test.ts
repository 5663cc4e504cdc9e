/**
 * Every case of the public compose corpus that compose accepts, and every importer fixture, as the
 * importer writes it and synthesized for kind, k3d and prod, is accepted by a real API server:
 * server-side apply with strict field validation and warnings as errors, through admission (Pod
 * Security "restricted" enforced on the stack's namespace, which is created for real), as a dry run
 * so that 50 stacks times three environments do not pile up in one control plane. For prod, each
 * case gets what `stackport import` tells the user prod still needs: a host, a class and pinned images.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildManifests } from '../../charts/synth';
import { pinnedImage } from '../../model/fields';
import { loadSpecFile } from '../../model/load';
import { resolveStack } from '../../model/presets';
import type { EnvironmentName, StackSpec } from '../../model/schema';
import { runImport } from '../../scripts/corpus-report';
import { caseNames, loadCase } from '../importer/public-corpus';
import { EXTERNAL_KUBECONFIG, Kube, type LocalCluster, ROOT, installCrds, startLocalCluster } from './kube';

const ENVS: EnvironmentName[] = ['kind', 'k3d', 'prod'];
const FIXTURES = join(ROOT, 'test', 'fixtures', 'compose');

/** What prod needs beyond the import, as a user would add it: host, class, and a tag for every unpinned image. */
function forProd(spec: StackSpec, name: string): StackSpec {
  const prod = spec.environments?.prod ?? {};
  const components = { ...(prod.components ?? {}) } as Record<string, any>;
  for (const [n, c] of Object.entries(spec.components)) {
    const image = components[n]?.image ?? ('image' in c ? c.image : undefined);
    if (image && !pinnedImage(image)) components[n] = { ...components[n], image: `${image.replace(/:latest$/, '')}:1.0.0` };
  }
  const edge = { host: `${name}.example.com`, className: 'eg', ...(prod.edge ?? {}) };
  return { ...spec, environments: { ...spec.environments, prod: { ...prod, edge, components } } } as StackSpec;
}

const corpus = caseNames().filter((n) => loadCase(n).expected.compose.accepted);
const fixtures = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'stack.yaml'))).sort();
const names = [...corpus, ...fixtures.map((d) => `fixture-${d}`)];
const specs = new Map<string, StackSpec>();

describe.runIf(!EXTERNAL_KUBECONFIG)('imported stacks on a real API server', () => {
  let local: LocalCluster;
  let kube: Kube;
  const namespaces = new Set<string>();

  beforeAll(async () => {
    for (const name of corpus) specs.set(name, (await runImport(loadCase(name))).spec as StackSpec);
    for (const d of fixtures) specs.set(`fixture-${d}`, { ...loadSpecFile(join(FIXTURES, d, 'stack.yaml')), namespace: `fixture-${d}` });
    local = await startLocalCluster('kind');
    kube = local.kube;
    await installCrds(kube, readdirSync(join(ROOT, 'crds')).filter((f) => f.endsWith('.yaml')).flatMap((f) => parseAllDocuments(readFileSync(join(ROOT, 'crds', f), 'utf8')).map((d) => d.toJS())));
  }, 300_000);

  afterAll(async () => {
    await local?.stop();
  }, 60_000);

  it('has at least the 30 corpus cases compose accepts and the 19 fixtures', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    expect(fixtures.length).toBeGreaterThanOrEqual(19);
    expect(specs.size).toBe(names.length);
  });

  it.each(names)('%s: kind, k3d and prod pass server-side apply, strict validation and admission with no warning', async (name) => {
    const spec = specs.get(name)!;
    const problems: string[] = [];
    for (const env of ENVS) {
      const objects = buildManifests(resolveStack(env === 'prod' ? forProd(spec, name) : spec, env)) as any[];
      // Namespaces for real (the stack's own with its Pod Security labels, and cert-manager's), once each.
      for (const ns of objects.filter((o) => o.kind === 'Namespace')) {
        const res = await kube.kubectl(['apply', '--server-side', '--field-manager=stackport', '--force-conflicts', '--validate=strict', '-f', '-'], { input: JSON.stringify(ns) });
        if (res.code !== 0) problems.push(`${env}: Namespace ${ns.metadata.name}: ${res.stderr.trim()}`);
        namespaces.add(ns.metadata.name);
      }
      for (const other of new Set(objects.map((o) => o.metadata?.namespace).filter((n: string | undefined) => n && !namespaces.has(n)))) {
        await kube.ok(['create', 'namespace', other as string]);
        namespaces.add(other as string);
      }
      const rest = objects.filter((o) => o.kind !== 'Namespace');
      const res = await kube.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager=stackport', '--validate=strict', '--warnings-as-errors', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rest }),
        timeoutMs: 120_000,
      });
      if (res.code !== 0 || /warning/i.test(res.stderr)) problems.push(`${env}: ${res.stderr.trim()}`);
      else if (res.stdout.trim().split('\n').length !== rest.length) problems.push(`${env}: ${rest.length} objects, the server answered for ${res.stdout.trim().split('\n').length}`);
    }
    expect(problems).toEqual([]);
  });
});
