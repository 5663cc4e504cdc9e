import { describe, expect, it } from 'vitest';
import { restGet } from '../cluster/kube-rest';

// The cluster and runtime tests answer `kubectl get … -o json` in-process: the paths must be the
// ones kubectl requests, and anything not understood must be left to kubectl.
describe('kubectl get read as REST requests', () => {
  it('a namespaced list with a label and a field selector', () => {
    const get = restGet(['-n', 'ns1', 'get', 'pods', '-l', 'app.kubernetes.io/name=api', '--field-selector=status.phase=Running']);
    expect(get?.named).toBe(false);
    expect(get?.requests.map((r) => r.path)).toEqual(['/api/v1/namespaces/ns1/pods?labelSelector=app.kubernetes.io%2Fname%3Dapi&fieldSelector=status.phase%3DRunning']);
  });

  it('several types at once, in order, with their groups', () => {
    const get = restGet(['--namespace=x', 'get', 'deployments,statefulsets,jobs,cronjobs']);
    expect(get?.requests.map((r) => [r.path, r.resource.kind])).toEqual([
      ['/apis/apps/v1/namespaces/x/deployments', 'Deployment'],
      ['/apis/apps/v1/namespaces/x/statefulsets', 'StatefulSet'],
      ['/apis/batch/v1/namespaces/x/jobs', 'Job'],
      ['/apis/batch/v1/namespaces/x/cronjobs', 'CronJob'],
    ]);
  });

  it('a named object, by short name or type/name; cluster-scoped ones ignore the namespace', () => {
    expect(restGet(['-n', 'a', 'get', 'pdb', 'api'])?.requests[0].path).toBe('/apis/policy/v1/namespaces/a/poddisruptionbudgets/api');
    expect(restGet(['-n', 'a', 'get', 'cronjob/worker'])).toMatchObject({ named: true, requests: [{ path: '/apis/batch/v1/namespaces/a/cronjobs/worker' }] });
    expect(restGet(['get', 'node', 'n1'])?.requests[0].path).toBe('/api/v1/nodes/n1');
    expect(restGet(['get', 'pvc'])?.requests[0].path).toBe('/api/v1/namespaces/default/persistentvolumeclaims');
  });

  it('every namespace with -A, a list only', () => {
    expect(restGet(['get', 'deployments,jobs', '--all-namespaces'])?.requests.map((r) => r.path)).toEqual(['/apis/apps/v1/deployments', '/apis/batch/v1/jobs']);
    expect(restGet(['-A', 'get', 'nodes'])?.requests[0].path).toBe('/api/v1/nodes');
    expect(restGet(['-A', 'get', 'pod', 'x'])).toBeUndefined();
  });

  it('leaves everything else to kubectl', () => {
    for (const args of [['version'], ['get', 'pods', '-o', 'wide'], ['get', 'certificates'], ['get', 'pods,svc', 'x'], ['apply', '-f', '-'], ['get']]) {
      expect(restGet(args), args.join(' ')).toBeUndefined();
    }
  });
});
