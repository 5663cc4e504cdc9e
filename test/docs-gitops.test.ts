/**
 * docs/gitops.md: every ```yaml block is checked, none is left out.
 *
 * - Kubernetes objects (apiVersion + kind) must be Argo CD Applications or Flux GitRepositories and
 *   Kustomizations, and validate against the upstream CRDs vendored in test/fixtures/gitops-crds/
 *   (SOURCE.md names modules and versions), strictly (unknown fields are errors).
 * - Their `path` is dist/prod, and dist/prod of a freshly synthesized repository renders as the
 *   kustomize root they expect: the kustomization.yaml is read the way `kubectl kustomize` reads it
 *   and yields every synthesized object. What the page says about the settings is checked too.
 * - A block without apiVersion is a stack spec fragment: merged into examples/dataplatform.stack.yaml
 *   (the `stack.yaml` of the page's commands), it must parse and synthesize as the page says.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { synthesize, type SynthResult } from '../charts/synth';
import { parseSpec } from '../model/load';
import { storeKeys } from '../ops/secrets';
import { crdValidator } from './support/crd-schema';
import { podSpec } from './support/manifests';

const ROOT = join(__dirname, '..');
const DOC = join(ROOT, 'docs', 'gitops.md');
const EXAMPLE = join(ROOT, 'examples', 'dataplatform.stack.yaml');
const gitops = crdValidator(join(__dirname, 'fixtures', 'gitops-crds'));

const ARGO_APP = 'argoproj.io/v1alpha1/Application';
const FLUX_SOURCE = 'source.toolkit.fluxcd.io/v1/GitRepository';
const FLUX_KUSTOMIZATION = 'kustomize.toolkit.fluxcd.io/v1/Kustomization';

interface Block {
  line: number;
  docs: any[];
}

/** The ```yaml blocks of a Markdown text, each parsed (multi-document), with the line its fence opens on. */
function yamlBlocks(markdown: string): Block[] {
  const out: Block[] = [];
  const fence = /^```yaml\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const line = markdown.slice(0, m.index).split('\n').length;
    const parsed = parseAllDocuments(m[1]);
    for (const d of parsed) if (d.errors.length > 0) throw new Error(`docs/gitops.md:${line}: ${d.errors[0].message}`);
    out.push({ line, docs: parsed.map((d) => d.toJS()).filter((d) => d !== null) });
  }
  return out;
}

/** The text of the ```console block whose first line is `$ <command>`, without that line. */
function consoleOutput(markdown: string, command: string): string[] {
  const fence = /^```console\n([\s\S]*?)^```$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    const lines = m[1].replace(/\n$/, '').split('\n');
    if (lines[0] === `$ ${command}`) return lines.slice(1);
  }
  throw new Error(`docs/gitops.md has no console block starting with "$ ${command}"`);
}

const typeOf = (o: any) => `${o.apiVersion}/${o.kind}`;

/** Plain objects merged key by key; anything else in `over` replaces. */
function merge(base: any, over: any): any {
  if (typeof base !== 'object' || base === null || Array.isArray(base) || typeof over !== 'object' || over === null || Array.isArray(over)) return over;
  const out = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k], v) : v;
  return out;
}

/**
 * What `kubectl kustomize DIR` does with the kustomization.yaml stackport writes: only
 * `resources`, each a file inside DIR. Anything else in it fails here rather than being ignored.
 */
function renderKustomization(dir: string): any[] {
  const file = join(dir, 'kustomization.yaml');
  expect(existsSync(file), `${file} exists`).toBe(true);
  const k = parse(readFileSync(file, 'utf8'));
  expect(k.apiVersion).toBe('kustomize.config.k8s.io/v1beta1');
  expect(k.kind).toBe('Kustomization');
  expect(Object.keys(k).sort()).toEqual(['apiVersion', 'kind', 'resources']);
  expect(k.resources.length).toBeGreaterThan(0);
  return k.resources.flatMap((r: string) => {
    expect(posix.normalize(r), `resource ${r} stays inside ${dir}`).not.toMatch(/^(\.\.|\/)|:\/\//);
    const path = join(dir, r);
    expect(statSync(path).isFile(), `${r} is a file`).toBe(true);
    return parseAllDocuments(readFileSync(path, 'utf8'))
      .map((d) => d.toJS())
      .filter((o) => o !== null);
  });
}

const markdown = readFileSync(DOC, 'utf8');
const blocks = yamlBlocks(markdown);
const objects = blocks.flatMap((b) => b.docs.filter((d) => typeof d === 'object' && 'apiVersion' in d));
const fragments = blocks.flatMap((b) => b.docs.filter((d) => !(typeof d === 'object' && 'apiVersion' in d)));
const one = (type: string) => {
  const found = objects.filter((o) => typeOf(o) === type);
  expect(found, `exactly one ${type} on the page`).toHaveLength(1);
  return found[0];
};

describe('docs/gitops.md', () => {
  it('has its YAML in ```yaml blocks only: one Application, one GitRepository, one Kustomization, one spec fragment', () => {
    expect(markdown).not.toMatch(/^```(yml|YAML)\b/m);
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(objects.map(typeOf).sort()).toEqual([ARGO_APP, FLUX_KUSTOMIZATION, FLUX_SOURCE].sort());
    expect(fragments).toHaveLength(1);
  });

  it('validates every Argo CD and Flux document against the upstream CRDs', () => {
    expect(gitops.validateAllCustomResources(objects)).toEqual([]);
  });

  it('would catch a mistake: the CRD schemas are strict', () => {
    const app = structuredClone(one(ARGO_APP));
    app.spec.source.paht = app.spec.source.path;
    app.spec.syncPolicy.syncOption = ['ServerSideApply=true'];
    expect(gitops.validateCustomResource(app)).toEqual(['spec.source.paht: unknown field', 'spec.syncPolicy.syncOption: unknown field']);
    const ks = structuredClone(one(FLUX_KUSTOMIZATION));
    ks.spec.prune = 'true';
    ks.spec.timeout = '20 minutes';
    const errors = gitops.validateCustomResource(ks);
    expect(errors).toContain('spec.prune: must be boolean');
    expect(errors.some((e) => e.startsWith('spec.timeout: must match pattern'))).toBe(true);
    expect(gitops.validateCustomResource({ ...one(FLUX_KUSTOMIZATION), apiVersion: 'kustomize.toolkit.fluxcd.io/v1beta2' })).toEqual([
      'apiVersion: Kustomization has no version v1beta2 (served: v1)',
    ]);
  });

  describe('pointed at dist/prod of a synthesized repository', () => {
    let repo = '';
    let prod: SynthResult;

    beforeAll(() => {
      repo = mkdtempSync(join(tmpdir(), 'stackport-gitops-'));
      const spec = parseSpec(parse(readFileSync(EXAMPLE, 'utf8')), EXAMPLE);
      [prod] = synthesize(spec, join(repo, 'dist'), ['prod']);
    });

    const paths = () => ({ argo: one(ARGO_APP).spec.source.path, flux: one(FLUX_KUSTOMIZATION).spec.path });

    it('both use the path dist/prod', () => {
      const { argo, flux } = paths();
      expect(posix.normalize(argo)).toBe('dist/prod');
      expect(posix.normalize(flux)).toBe('dist/prod');
    });

    it('renders there as a kustomize root holding every synthesized object and no Secret', () => {
      for (const path of Object.values(paths())) {
        const rendered = renderKustomization(join(repo, path));
        expect(rendered).toHaveLength(prod.objects);
        expect(rendered[0].kind).toBe('Namespace');
        expect(rendered.filter((o) => o.kind === 'Secret')).toEqual([]);
        expect(rendered.filter((o) => o.kind === 'Job').map((o) => o.metadata.name)).toEqual([expect.stringMatching(/^migrate-[0-9a-f]{8}$/)]);
      }
    });

    it('the Argo CD Application: the stack namespace, server-side apply, prune, no finalizer, no hooks or waves', () => {
      const app = one(ARGO_APP);
      const rendered = renderKustomization(join(repo, paths().argo));
      expect(app.spec.destination.namespace).toBe(rendered[0].metadata.name);
      expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
      expect(app.spec.syncPolicy.automated.prune).toBe(true);
      expect(app.metadata.finalizers).toBeUndefined();
      expect(JSON.stringify(objects)).not.toMatch(/sync-wave|argocd\.argoproj\.io\/hook/);
    });

    it('the Flux Kustomization: its GitRepository, prune, Orphan on deletion, health checks of objects that exist', () => {
      const ks = one(FLUX_KUSTOMIZATION);
      const source = one(FLUX_SOURCE);
      expect(ks.spec.sourceRef).toEqual({ kind: 'GitRepository', name: source.metadata.name, ...(ks.spec.sourceRef.namespace ? { namespace: source.metadata.namespace } : {}) });
      expect(ks.metadata.namespace).toBe(source.metadata.namespace);
      expect(ks.spec.prune).toBe(true);
      expect(ks.spec.deletionPolicy).toBe('Orphan');
      expect(ks.spec.force).toBeUndefined();
      // The page explains why: `wait` would also wait for the backup claim to bind; healthChecks are ignored with it.
      expect(ks.spec.wait).toBeUndefined();
      const rendered = renderKustomization(join(repo, paths().flux));
      const present = rendered.map((o) => `${o.apiVersion}/${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
      expect(ks.spec.healthChecks.length).toBeGreaterThan(0);
      for (const h of ks.spec.healthChecks) expect(present, `health check ${h.kind}/${h.name}`).toContain(`${h.apiVersion}/${h.kind}/${h.namespace}/${h.name}`);
      // The api Deployment is the one whose init container waits for the migration (the page's reason to list no Job).
      const api = rendered.find((o) => o.kind === 'Deployment' && o.metadata.name === 'api');
      expect(podSpec(api).initContainers.map((c: any) => c.name)).toContain('wait-for-migrate');
      expect(ks.spec.healthChecks.map((h: any) => h.name)).toContain('api');
    });
  });

  describe('the spec fragment, merged into the stack.yaml of the commands', () => {
    const base = parse(readFileSync(EXAMPLE, 'utf8'));
    const spec = parseSpec(merge(base, fragments[0]), 'examples/dataplatform.stack.yaml + docs/gitops.md');
    const fragment = fragments[0].environments.prod;

    it('puts the pull Secrets on every pod template and one ExternalSecret per Secret in dist/prod', () => {
      const out = mkdtempSync(join(tmpdir(), 'stackport-gitops-spec-'));
      synthesize(spec, out, ['prod']);
      const rendered = renderKustomization(join(out, 'prod'));
      const workloads = rendered.filter((o) => ['Deployment', 'StatefulSet', 'Job', 'CronJob'].includes(o.kind));
      expect(workloads.length).toBeGreaterThan(0);
      for (const w of workloads) expect(podSpec(w).imagePullSecrets, `${w.kind}/${w.metadata.name}`).toEqual(fragment.imagePullSecrets.map((name: string) => ({ name })));
      const external = rendered.filter((o) => o.kind === 'ExternalSecret');
      expect(external.length).toBe(storeKeys(spec, 'prod')!.length);
      for (const e of external) expect(e.spec.secretStoreRef).toEqual(fragment.secrets.store);
      expect(rendered.filter((o) => o.kind === 'Secret')).toEqual([]);
    });

    it('makes `npm run secrets -- --env prod --spec stack.yaml` list the keys the page shows', () => {
      const shown = consoleOutput(markdown, 'npm run secrets -- --env prod --spec stack.yaml');
      expect(shown).toEqual([
        'prod reads its Secrets from a secret store through External Secrets Operator; nothing written. The store must hold:',
        ...storeKeys(spec, 'prod')!.map((k) => `  ${k}`),
      ]);
    });
  });
});
