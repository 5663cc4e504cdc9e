import { describe, expect, it } from 'vitest';
import { find, has, manifests, manifestsOf } from '../support/manifests';

const kind = manifests(undefined, 'kind');
const prod = manifests(undefined, 'prod');

describe('Monitoring', () => {
  it('scrapes the API every 10 s through a port name that exists on the selected Service', () => {
    const sm = find(kind, 'ServiceMonitor', 'api');
    expect(sm.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '10s', scrapeTimeout: '10s' }]);
    const selected = kind.filter((o) => o.kind === 'Service' && Object.entries(sm.spec.selector.matchLabels).every(([k, v]) => o.metadata.labels[k] === v));
    expect(selected.map((s) => s.metadata.name)).toEqual(['api']);
    expect(selected[0].spec.ports.map((p: any) => p.name)).toContain(sm.spec.endpoints[0].port);
  });

  it('has no monitor for components without a metrics path', () => {
    expect(has(kind, 'ServiceMonitor', 'dashboard')).toBe(false);
  });

  it('uses a PodMonitor on the health port for a continuous worker', () => {
    const objs = manifestsOf({
      name: 'feeds',
      components: { ingest: { kind: 'worker', mode: 'continuous', image: 'ghcr.io/acme/ingest:2.0.0', healthPort: 8080, healthPath: '/healthz', metricsPath: '/metrics' } },
      monitoring: { release: 'prom', interval: '30s' },
    });
    const pm = find(objs, 'PodMonitor', 'ingest');
    expect(pm.metadata.labels.release).toBe('prom');
    expect(pm.spec.podMetricsEndpoints).toEqual([{ port: 'health', path: '/metrics', interval: '30s' }]);
    const pod = find(objs, 'Deployment', 'ingest').spec.template;
    expect(pod.spec.containers[0].ports.map((p: any) => p.name)).toContain('health');
    for (const [k, v] of Object.entries(pm.spec.selector.matchLabels)) expect(pod.metadata.labels[k]).toBe(v);
  });

  it('alerts on API down, 5xx ratio, p95 latency, failed worker runs and stale backups', () => {
    const rules = find(prod, 'PrometheusRule', 'dataplatform-alerts').spec.groups[0].rules;
    const byName = Object.fromEntries(rules.map((r: any) => [r.alert, r]));
    expect(Object.keys(byName).sort()).toEqual(['ApiHighErrorRatio', 'ApiHighLatencyP95', 'ApiTargetDown', 'PostgresBackupTooOld', 'WorkerJobFailed']);
    expect(byName.ApiTargetDown.expr).toBe('sum(up{namespace="dataplatform", job="api"}) == 0 or absent(up{namespace="dataplatform", job="api"})');
    expect(byName.ApiHighErrorRatio.expr).toContain('status=~"5.."}[5m])) / sum(rate(http_requests_total{namespace="dataplatform", job="api"}[5m])) > 0.05');
    expect(byName.ApiHighLatencyP95.expr).toContain('histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace="dataplatform", job="api"}[5m]))) > 1');
    expect(byName.WorkerJobFailed.expr).toContain('kube_job_failed{namespace="dataplatform", job_name=~"worker-.+", condition="true"}');
    expect(byName.PostgresBackupTooOld.expr).toContain('kube_cronjob_status_last_successful_time{namespace="dataplatform", cronjob="postgres-backup"}) > 90000');
    for (const r of rules) expect(r.for).toBe('5m');
  });

  it('takes thresholds from the spec and drops the backup alert where backups are off', () => {
    const rules = find(kind, 'PrometheusRule', 'dataplatform-alerts').spec.groups[0].rules.map((r: any) => r.alert);
    expect(rules).not.toContain('PostgresBackupTooOld');
    const objs = manifestsOf({
      name: 'shop',
      components: { api: { kind: 'web', image: 'ghcr.io/acme/shop:1.0.0', port: 8000, healthPath: '/health', metricsPath: '/metrics' } },
      monitoring: { alerts: { errorRatio: 0.01, latencyP95Seconds: 0.25, for: '10m' } },
    });
    const custom = find(objs, 'PrometheusRule', 'shop-alerts').spec.groups[0].rules;
    expect(custom.find((r: any) => r.alert === 'ApiHighErrorRatio').expr).toMatch(/> 0\.01$/);
    expect(custom.find((r: any) => r.alert === 'ApiHighLatencyP95').expr).toMatch(/> 0\.25$/);
    expect(custom[0].for).toBe('10m');
  });

  it('can be switched off', () => {
    const objs = manifestsOf({
      name: 'shop',
      components: { api: { kind: 'web', image: 'ghcr.io/acme/shop:1.0.0', port: 8000, healthPath: '/health', metricsPath: '/metrics' } },
      monitoring: { enabled: false },
    });
    expect(objs.filter((o) => o.apiVersion.startsWith('monitoring.coreos.com'))).toEqual([]);
  });
});
