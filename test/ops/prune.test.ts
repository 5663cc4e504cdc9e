/** ops/prune.ts: which live objects are the stack's leftovers, and what the prune asks kubectl. */
import { describe, expect, it } from 'vitest';
import { resolveStack } from '../../model/presets';
import { referenceStack } from '../../model/reference';
import type { Kubectl } from '../../ops/kubectl';
import { leftovers, pruneStack, stackSelector, type K8sObject } from '../../ops/prune';

const stack = resolveStack(referenceStack, 'kind');
const LABELS = { 'app.kubernetes.io/part-of': 'dataplatform', 'app.kubernetes.io/managed-by': 'stackport', 'stackport.dev/environment': 'kind' };

interface ObjectOptions {
  apiVersion?: string;
  namespace?: string | null;
  labels?: Record<string, string>;
  manager?: string;
  operation?: string;
  owned?: boolean;
}

/** An object as the prune lists it: by default one stackport applied for this stack, in its namespace. */
function obj(kind: string, name: string, o: ObjectOptions = {}): K8sObject {
  const apiVersion = o.apiVersion ?? ({ Deployment: 'apps/v1', StatefulSet: 'apps/v1', Job: 'batch/v1', CronJob: 'batch/v1', NetworkPolicy: 'networking.k8s.io/v1', ClusterIssuer: 'cert-manager.io/v1', HorizontalPodAutoscaler: 'autoscaling/v2' } as Record<string, string>)[kind] ?? 'v1';
  return {
    apiVersion,
    kind,
    metadata: {
      name,
      ...(o.namespace === null ? {} : { namespace: o.namespace ?? 'dataplatform' }),
      labels: o.labels ?? LABELS,
      managedFields: [{ manager: o.manager ?? 'stackport', operation: o.operation ?? 'Apply' }],
      ...(o.owned ? { ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: 'worker', uid: 'u' }] } : {}),
    },
  };
}

const names = (objects: K8sObject[]) => objects.map((o) => `${o.kind}/${o.metadata.namespace ?? '-'}/${o.metadata.name}`);

// Not the environment label: policies, routes and monitors do not carry it; the namespace is the environment.
it('stackSelector: part-of and managed-by', () => {
  expect(stackSelector(stack)).toBe('app.kubernetes.io/part-of=dataplatform,app.kubernetes.io/managed-by=stackport');
  expect(stackSelector(resolveStack({ ...referenceStack, name: 'shop' }, 'k3d'))).toBe('app.kubernetes.io/part-of=shop,app.kubernetes.io/managed-by=stackport');
});

describe('leftovers', () => {
  it('removes what stackport applied here that the output no longer has', () => {
    const wanted = [obj('Deployment', 'api'), obj('Service', 'api')];
    const live = [obj('Deployment', 'api'), obj('Service', 'api'), obj('Deployment', 'old-api'), obj('ConfigMap', 'api'), obj('Job', 'migrate-0badc0de')];
    expect(names(leftovers(stack, wanted, live).remove)).toEqual(['Deployment/dataplatform/old-api', 'ConfigMap/dataplatform/api', 'Job/dataplatform/migrate-0badc0de']);
  });

  it.each<[string, K8sObject]>([
    ['without the part-of label', obj('Deployment', 'x', { labels: { ...LABELS, 'app.kubernetes.io/part-of': 'other' } })],
    ['managed by something else', obj('Deployment', 'x', { labels: { ...LABELS, 'app.kubernetes.io/managed-by': 'helm' } })],
    ['with no labels', obj('Deployment', 'x', { labels: {} })],
    ['in another namespace', obj('Deployment', 'x', { namespace: 'dataplatform-staging' })],
    ['applied by another manager', obj('Job', 'worker-run-1', { manager: 'kubectl-create', operation: 'Update' })],
    ["changed, not applied, by stackport's manager", obj('Deployment', 'x', { operation: 'Update' })],
    ['owned (a Job its CronJob started)', obj('Job', 'worker-29012345', { owned: true })],
    ['a Namespace', obj('Namespace', 'dataplatform', { namespace: null })],
    ['a PersistentVolumeClaim', obj('PersistentVolumeClaim', 'data-postgres-0')],
    ['a Secret', obj('Secret', 'postgres-superuser')],
  ])('keeps an object %s', (_, o) => {
    expect(leftovers(stack, [], [o])).toEqual({ remove: [], clusterScoped: [] });
  });

  it('a managedFields list without any entry is not stackport\'s', () => {
    const o = obj('Deployment', 'x');
    o.metadata.managedFields = undefined;
    expect(leftovers(stack, [], [o]).remove).toEqual([]);
  });

  it('reports cluster-scoped leftovers instead of removing them; a wanted one is not reported', () => {
    const live = [obj('ClusterIssuer', 'old-issuer', { namespace: null }), obj('ClusterIssuer', 'stackport-local-ca', { namespace: null })];
    const r = leftovers(stack, [obj('ClusterIssuer', 'stackport-local-ca', { namespace: null })], live);
    expect(r.remove).toEqual([]);
    expect(names(r.clusterScoped)).toEqual(['ClusterIssuer/-/old-issuer']);
  });

  it('matches wanted objects by group, kind, namespace and name, not by version', () => {
    const live = [obj('HorizontalPodAutoscaler', 'api', { apiVersion: 'autoscaling/v1' }), obj('Deployment', 'api', { apiVersion: 'extensions/v1beta1' })];
    expect(names(leftovers(stack, [obj('HorizontalPodAutoscaler', 'api'), obj('Deployment', 'api')], live).remove)).toEqual(['Deployment/dataplatform/api']);
  });
});

describe('pruneStack', () => {
  /** A Kubectl that answers the list with `live` and records every call. */
  function fakeKubectl(live: K8sObject[]) {
    const calls: string[] = [];
    const k = {
      items: (args: string[]) => (calls.push(args.join(' ')), live),
      ok: (args: string[]) => (calls.push(args.join(' ')), 'job.batch "migrate-0badc0de" deleted\n'),
    } as unknown as Kubectl;
    return { k, calls };
  }

  it('lists only the served kinds, deletes the leftovers in the namespace and notes the cluster-wide ones', () => {
    const { k, calls } = fakeKubectl([obj('Job', 'migrate-0badc0de'), obj('ClusterIssuer', 'old-issuer', { namespace: null })]);
    const log: string[] = [];
    const removed = pruneStack(k, stack, [obj('Deployment', 'api')], new Set(['v1', 'apps/v1', 'batch/v1']), (l) => log.push(l));
    expect(removed).toEqual(['Job/migrate-0badc0de']);
    expect(calls).toEqual([
      `get configmap,service,serviceaccount,deployment.apps,statefulset.apps,cronjob.batch,job.batch -A -l ${stackSelector(stack)} --show-managed-fields`,
      '-n dataplatform delete job.batch/migrate-0badc0de --ignore-not-found --wait=false',
    ]);
    expect(log).toEqual([
      "note: kept ClusterIssuer/old-issuer, cluster-wide and no longer in this stack's output (other stacks may use it): delete it yourself when none does",
      'job.batch "migrate-0badc0de" deleted',
    ]);
  });

  it('asks nothing when the cluster serves none of the kinds, and deletes nothing when nothing is left over', () => {
    const none = fakeKubectl([]);
    expect(pruneStack(none.k, stack, [], new Set(), () => {})).toEqual([]);
    expect(none.calls).toEqual([]);
    const clean = fakeKubectl([obj('Deployment', 'api')]);
    expect(pruneStack(clean.k, stack, [obj('Deployment', 'api')], new Set(['apps/v1']), () => {})).toEqual([]);
    expect(clean.calls).toEqual([`get deployment.apps,statefulset.apps -A -l ${stackSelector(stack)} --show-managed-fields`]);
  });
});
