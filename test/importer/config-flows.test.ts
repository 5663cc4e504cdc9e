/**
 * Connections written in mounted configuration (a Grafana datasource, an app's settings file, a
 * Prometheus scrape list) are flows like environment URLs: the target keeps running and serving the
 * port, and the dialer's NetworkPolicy admits it.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildManifests } from '../../charts/synth';
import { formatWarning, importCompose, type ImportResult } from '../../importer/import';
import { resolveStack } from '../../model/presets';
import { SpecError } from '../../model/errors';
import { parseSpec } from '../../model/load';

type Obj = Record<string, any>;

async function importOf(files: Record<string, string>): Promise<ImportResult> {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-config-flows-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return importCompose({ files: [join(dir, 'compose.yaml')], environment: {} });
}

const warnings = (r: ImportResult) => r.warnings.map(formatWarning).join('\n');
const kindObjects = (r: ImportResult) => buildManifests(resolveStack(r.spec, 'kind')) as Obj[];

const PROMETHEUS_YML = `global:
  scrape_interval: 15s
scrape_configs:
  - job_name: api
    scrape_interval: 1m
    static_configs:
      - targets: ["api:8000"]
  - job_name: web
    metrics_path: /stats
    static_configs:
      - targets: ["web:3000"]
`;

const PROMETHEUS = `  prometheus:
    image: prom/prometheus:v2.53.0
    ports: ["9090:9090"]
    volumes:
      - ./prometheus/:/etc/prometheus/
      - prom_data:/prometheus
  api:
    image: acme/api:1.0
    ports: ["8000:8000"]
  web:
    image: acme/web:1.0
    ports: ["3000:3000"]
`;

describe('a Prometheus that another service dials', () => {
  it('is kept as a stateful server when a Grafana datasource names it, and Grafana may reach it', async () => {
    const r = await importOf({
      'compose.yaml': `services:\n${PROMETHEUS}  grafana:\n    image: grafana/grafana:11.2.0\n    ports: ["3001:3000"]\n    volumes: ["./grafana/provisioning:/etc/grafana/provisioning"]\nvolumes:\n  prom_data:\n`,
      'prometheus/prometheus.yml': PROMETHEUS_YML,
      'grafana/provisioning/datasources/datasource.yml': 'apiVersion: 1\ndatasources:\n  - name: Prometheus\n    type: prometheus\n    url: http://prometheus:9090\n',
    });
    const prom = r.spec.components.prometheus as Obj;
    expect(prom).toMatchObject({ kind: 'stateful', image: 'prom/prometheus:v2.53.0', ports: [{ port: 9090 }], data: [{ path: '/prometheus' }] });
    expect(Object.keys(prom.files)).toEqual(['/etc/prometheus/prometheus.yml']);
    expect((r.spec.components.grafana as Obj).uses).toEqual([{ to: 'prometheus' }]);
    expect(r.summary.get('prometheus')!.join('\n')).toContain('kept as a stateful server: grafana dials it');
    // Its targets still make the ServiceMonitors, each job at its own interval.
    expect(r.spec.components.api).toMatchObject({ metricsPath: '/metrics', metricsInterval: '1m' });
    expect(r.spec.components.web).toMatchObject({ metricsPath: '/stats' });
    expect((r.spec.components.web as Obj).metricsInterval).toBeUndefined();
    const objects = kindObjects(r);
    expect(objects.some((o) => o.kind === 'StatefulSet' && o.metadata.name === 'prometheus')).toBe(true);
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
    expect(Object.fromEntries(monitors.map((m) => [m.metadata.name, m.spec.endpoints[0].interval]))).toEqual({ api: '1m', web: '15s' });
    const toProm = objects.find((o) => o.kind === 'NetworkPolicy' && o.spec.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'prometheus');
    expect(JSON.stringify(toProm?.spec.ingress)).toContain('grafana');
  });

  it('is replaced by the cluster\'s Prometheus when nothing dials it; a job\'s scrape_interval is kept, read through a mount target with a trailing slash', async () => {
    const r = await importOf({ 'compose.yaml': `services:\n${PROMETHEUS}volumes:\n  prom_data:\n`, 'prometheus/prometheus.yml': PROMETHEUS_YML });
    expect(r.spec.components.prometheus).toBeUndefined();
    expect(r.spec.monitoring).toEqual({ interval: '15s' });
    expect(r.spec.components.api).toMatchObject({ metricsPath: '/metrics', metricsInterval: '1m' });
    expect(warnings(r)).not.toContain('prometheus.yml is not mounted');
  });
});

describe('flows from mounted settings files', () => {
  it('admits what an app\'s settings file dials and gives the target the port it is dialed on', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  app:\n    image: acme/app:1.0\n    ports: ["8080:8080"]\n    volumes: ["./config:/app/config:ro"]\n  search:\n    image: acme/search:2.0\n',
      'config/settings.yaml': 'search:\n  url: "http://search:9200/index"\n  timeout: 5\n',
    });
    expect(r.spec.components.search).toMatchObject({ kind: 'web', port: 9200 });
    expect((r.spec.components.app as Obj).uses).toEqual([{ to: 'search', env: 'SEARCH_URL' }]);
    expect(r.summary.get('app')!.join('\n')).toContain('config/settings.yaml dials search:9200 -> uses search');
  });

  it('warns when a settings file dials a service that is not deployed', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  app:\n    image: acme/app:1.0\n    ports: ["8080:8080"]\n    volumes: ["./app.ini:/etc/app.ini"]\n  exporter:\n    image: prom/node-exporter:v1.8.0\n',
      'app.ini': '[metrics]\nsource = exporter:9100\n',
    });
    expect(warnings(r)).toContain('app: volumes: app.ini dials exporter:9100, which is not deployed here');
  });

  it('reads no flows from a source tree mounted for hot reload (its compose file names every service)', async () => {
    const r = await importOf({
      'compose.yaml': 'services:\n  app:\n    build: .\n    command: python -m app\n    ports: ["8080:8080"]\n    volumes: [".:/code"]\n  cache:\n    image: acme/cache:1.0\n    ports: ["7000:7000"]\n',
      'Dockerfile': 'FROM python:3.12-slim\n',
      'app.py': 'print("hi")\n',
      'docs/example.yaml': 'url: cache:7000\n',
    });
    expect((r.spec.components.app as Obj).uses).toBeUndefined();
  });
});

function problems(components: Obj): string[] {
  try {
    parseSpec({ apiVersion: 'stackport.dev/v1alpha1', name: 'm', components });
  } catch (e) {
    if (e instanceof SpecError) return e.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw e;
  }
  return [];
}

describe('metricsInterval in the spec', () => {
  it('needs metricsPath, on a web component and on a continuous worker; a scheduled worker has neither', () => {
    expect(
      problems({
        web: { kind: 'web', image: 'acme/web:1', port: 8080, healthPath: '/h', metricsInterval: '30s' },
        bg: { kind: 'worker', mode: 'continuous', image: 'acme/bg:1', healthPort: 9000, healthPath: '/h', metricsInterval: '30s' },
        cron: { kind: 'worker', image: 'acme/cron:1', schedule: '0 * * * *', metricsInterval: '30s' },
        ok: { kind: 'web', image: 'acme/ok:1', port: 8081, healthPath: '/h', metricsPath: '/metrics', metricsInterval: '1m' },
      }),
    ).toEqual([
      'components.web.metricsInterval: needs metricsPath (the interval is for scraping it)',
      'components.bg.metricsInterval: needs metricsPath (the interval is for scraping it)',
      'components.cron.metricsInterval: applies only to mode continuous',
    ]);
  });

  it('is a duration', () => {
    expect(problems({ slow: { kind: 'web', image: 'acme/slow:1', port: 8081, healthPath: '/h', metricsPath: '/metrics', metricsInterval: 'often' } })).toEqual([
      'components.slow.metricsInterval: must be a duration such as "10s" or "5m", got "often"',
    ]);
  });
});
