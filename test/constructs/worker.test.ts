import { describe, expect, it } from 'vitest';
import { container, envOf, find, has, manifests, manifestsOf, podSpec } from '../support/manifests';
import { allowed } from '../support/netpol';

describe('Worker (scheduled)', () => {
  const objs = manifests();
  const cron = find(objs, 'CronJob', 'worker');

  it('runs daily at midnight UTC, never overlapping, with deadlines and history limits', () => {
    expect(cron.spec).toMatchObject({
      schedule: '0 0 * * *',
      timeZone: 'Etc/UTC',
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
    });
    expect(cron.spec.jobTemplate.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 7200 });
    expect(podSpec(cron).restartPolicy).toBe('OnFailure');
    // Jobs owned by a CronJob must not set a TTL: the history limits clean up.
    expect(cron.spec.jobTemplate.spec.ttlSecondsAfterFinished).toBeUndefined();
  });

  it('carries the command that runs it now', () => {
    expect(cron.metadata.annotations['stackport.dev/run-now']).toBe(
      'kubectl -n dataplatform create job --from=cronjob/worker worker-manual-$(date +%s)',
    );
  });

  it('gets API keys from Secrets and both database connections', () => {
    const env = envOf(container(cron));
    expect(env.FRED_API_KEY).toEqual({ secretKeyRef: { name: 'external-apis', key: 'fred-api-key' } });
    expect(env.FMP_API_KEY).toEqual({ secretKeyRef: { name: 'external-apis', key: 'fmp-api-key' } });
    expect(env.DATABASE_URL).toBe('postgresql://app:$(DATABASE_PASSWORD)@postgres:5432/app');
    expect(env.FEATURES_DATABASE_URL).toBe('postgresql://pipeline:$(FEATURES_DATABASE_PASSWORD)@postgres:5432/features');
    expect(env.REDIS_URL).toBe('redis://:$(REDIS_PASSWORD)@redis:6379/1');
  });

  it('waits for its servers to accept connections, then for the migration', () => {
    expect(podSpec(cron).initContainers.map((c: any) => c.name)).toEqual(['wait-for-postgres', 'wait-for-redis', 'wait-for-migrate']);
  });
});

describe('Worker (continuous)', () => {
  const objs = manifestsOf({
    name: 'feeds',
    components: {
      ingest: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/ingest:2.0.0', healthPort: 8080, healthPath: '/healthz', replicas: 2 },
    },
  });

  it('is a Deployment probed on its health port instead of a CronJob', () => {
    expect(has(objs, 'CronJob', 'ingest')).toBe(false);
    const d = find(objs, 'Deployment', 'ingest');
    expect(d.spec.replicas).toBe(2);
    const c = container(d);
    expect(c.ports).toEqual([{ name: 'health', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/healthz', port: 'health' });
    expect(c.livenessProbe.tcpSocket).toEqual({ port: 'health' });
  });

  it('with two replicas, spreads them over nodes and lets a drain evict one at a time', () => {
    const d = find(objs, 'Deployment', 'ingest');
    const selector = d.spec.selector.matchLabels;
    const spread = podSpec(d).topologySpreadConstraints;
    expect(spread.length).toBeGreaterThan(0);
    for (const t of spread) expect(t.labelSelector.matchLabels).toEqual(selector);
    expect(podSpec(d).affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.labelSelector.matchLabels).toEqual(selector);
    expect(find(objs, 'PodDisruptionBudget', 'ingest').spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: 'AlwaysAllow' });
  });

  it('with one replica, has neither', () => {
    const one = manifestsOf({ name: 'feeds', components: { ingest: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/ingest:2.0.0', probe: false } } });
    expect(has(one, 'PodDisruptionBudget', 'ingest')).toBe(false);
    expect(podSpec(find(one, 'Deployment', 'ingest')).affinity).toBeUndefined();
  });
});

describe('Worker (continuous) without a port', () => {
  it('still gets a DNS name through a headless Service without ports', () => {
    const objs = manifestsOf({
      name: 'feeds',
      components: { consumer: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/consumer:1.0.0', probe: { command: ['python', '-m', 'consumer.alive'] } } },
    });
    const svc = find(objs, 'Service', 'consumer');
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.ports).toBeUndefined();
    expect(svc.spec.selector).toEqual(find(objs, 'Deployment', 'consumer').spec.selector.matchLabels);
  });
});

describe('Worker (continuous) serving ports to the stack', () => {
  // A queue worker whose runner dials its task broker (n8n worker on 5679).
  const spec: Parameters<typeof manifestsOf>[0] = {
    name: 'flows',
    network: { mode: 'declared' },
    components: {
      broker: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/flow:1.0.0', healthPort: 5678, healthPath: '/healthz', ports: [{ name: 'broker', port: 5679 }] },
      runner: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/runner:1.0.0', probe: false, uses: ['broker'] },
      other: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/other:1.0.0', probe: false },
    },
  };
  const objs = manifestsOf(spec);
  const at = (name: string) => ({ labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': 'flows' } });

  it('lists the ports in its container and its headless Service, beside the health port', () => {
    expect(container(find(objs, 'Deployment', 'broker')).ports).toEqual([
      { name: 'health', containerPort: 5678, protocol: 'TCP' },
      { name: 'broker', containerPort: 5679, protocol: 'TCP' },
    ]);
    const svc = find(objs, 'Service', 'broker');
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.ports.map((p: any) => [p.name, p.port, p.targetPort])).toEqual([
      ['health', 5678, 'health'],
      ['broker', 5679, 'broker'],
    ]);
  });

  it('admits the component that uses it on those ports and no other component', () => {
    expect(allowed(objs, 'flows', at('runner'), at('broker'), 5679)).toBe(true);
    expect(allowed(objs, 'flows', at('other'), at('broker'), 5679)).toBe(false);
    expect(allowed(objs, 'flows', at('runner'), at('broker'), 8080)).toBe(false);
  });

  it('gives the user no connection variable (a worker has no standard URL)', () => {
    expect(Object.keys(envOf(container(find(objs, 'Deployment', 'runner')))).filter((k) => /BROKER/.test(k))).toEqual([]);
  });

  it('is reachable by every pod of the stack in network mode "stack"', () => {
    const wide = manifestsOf({ ...spec, network: { mode: 'stack' } });
    expect(allowed(wide, 'flows', at('other'), at('broker'), 5679)).toBe(true);
  });
});
