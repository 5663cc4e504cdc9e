import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart } from 'cdk8s';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildApp, shop } from '../../examples/cdk8s-app/app';
import { checkRestricted } from '../support/pod-security';
import { validateK8sObject } from '../support/k8s-schema';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function objectsOf(environment: 'kind' | 'prod'): any[] {
  const app = buildApp(environment);
  return (app.node.children.find((c) => c instanceof Chart) as Chart).toJson();
}

describe('examples/cdk8s-app: a cdk8s app with a stack and objects of its own', () => {
  it('renders the stack and adds its ConfigMap and CronJob to the same chart, in the stack namespace', () => {
    const objects = objectsOf('kind');
    const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining(['Namespace/shop', 'Deployment/api', 'StatefulSet/db', 'StatefulSet/cache', 'ConfigMap/feature-flags', 'CronJob/nightly-report']));
    for (const name of ['ConfigMap/feature-flags', 'CronJob/nightly-report', 'Deployment/api']) {
      expect(objects[names.indexOf(name)].metadata.namespace, name).toBe('shop');
    }
    expect(shop.components.api.kind).toBe('web');
  });

  it("keeps the added CronJob inside the namespace's Pod Security and the Kubernetes schema", () => {
    const cron = objectsOf('kind').find((o) => o.kind === 'CronJob' && o.metadata.name === 'nightly-report');
    expect(checkRestricted(cron)).toEqual([]);
    expect(validateK8sObject(cron)).toEqual([]);
  });

  it('renders prod from the same definition', () => {
    const names = objectsOf('prod').map((o) => `${o.kind}/${o.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining(['PodDisruptionBudget/api', 'CronJob/nightly-report']));
  });

  it('synthesizes to one file per chart with app.synth()', () => {
    const out = mkdtempSync(join(tmpdir(), 'stackport-example-'));
    dirs.push(out);
    buildApp('kind', { outdir: out }).synth();
    expect(readdirSync(out)).toEqual(['shop.k8s.yaml']);
    const kinds = parseAllDocuments(readFileSync(join(out, 'shop.k8s.yaml'), 'utf8')).map((d) => d.toJS().kind);
    expect(kinds).toContain('ConfigMap');
    expect(kinds).toContain('CronJob');
    expect(kinds).toContain('NetworkPolicy');
  });
});
