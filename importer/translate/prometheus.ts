/**
 * A Prometheus service is not deployed: the cluster's prometheus-operator takes its place. Its
 * scrape configuration (prometheus.yml, when mounted and readable) says which components have
 * metrics, on which path and how often; those get `metricsPath` (and `metricsInterval`), and
 * synthesis makes the ServiceMonitors. A Prometheus that another service dials (a Grafana
 * datasource) is kept as a stateful component instead, and its configuration is read the same way.
 */
import { join, resolve } from 'node:path';
import { readYaml, YamlInputError } from '../../model/read-yaml';
import type { Mount } from '../load/normalize';
import type { Context, Keys } from './context';
import { outsideMount } from './volumes';

type Obj = Record<string, any>;

function configText(ctx: Context, keys: Keys): string | undefined | null {
  const folder = ctx.project.folder;
  for (const m of (keys.config.volumes ?? []) as Mount[]) {
    if (m.type !== 'bind' || !m.source) continue;
    const read = m.target.endsWith('.yml') || m.target.endsWith('.yaml') ? /prometheus\.ya?ml$/.test(m.target) : m.target === '/etc/prometheus';
    if (read && outsideMount(ctx, keys, m)) return null;
    if (m.target.endsWith('.yml') || m.target.endsWith('.yaml')) {
      if (/prometheus\.ya?ml$/.test(m.target)) return folder.readText(m.source);
    } else if (m.target === '/etc/prometheus') {
      return folder.readText(join(m.source, 'prometheus.yml')) ?? folder.readText(join(m.source, 'prometheus.yaml'));
    }
  }
  for (const c of (keys.config.configs ?? []) as Obj[]) {
    const def = ctx.project.configs[c.source] ?? {};
    if (/prometheus\.ya?ml$/.test(c.target ?? '') || /prometheus/.test(c.source)) return def.content ?? (def.file ? folder.readText(resolve(ctx.project.dir, def.file)) : undefined);
  }
  return undefined;
}

/** Records the scrape targets; applied to components once they exist (applyScrapes). */
export function translatePrometheus(ctx: Context, keys: Keys): Obj[] {
  const scrapes = scrapeTargets(ctx, keys, false);
  for (const k of ['image', 'volumes', 'configs', 'ports', 'command', 'restart', 'depends_on', 'healthcheck', 'networks', 'user']) keys.take(k);
  ctx.note(keys.service.name, 'not deployed: the cluster\'s prometheus-operator scrapes the ServiceMonitors made from its targets');
  return scrapes;
}

/**
 * The scrape targets of a Prometheus service's configuration, and its global interval. `kept`: the
 * server itself runs (another service dials it), so what its config does beyond targets still works.
 */
export function scrapeTargets(ctx: Context, keys: Keys, kept: boolean): Obj[] {
  const text = configText(ctx, keys);
  ctx.monitoring ??= {};
  if (text === null) return [];
  if (text === undefined) {
    keys.warn('volumes', 'prometheus.yml is not mounted or not readable here; set metricsPath on the scraped components by hand');
    return [];
  }
  let config: Obj;
  try {
    config = (readYaml(text).toJS() as Obj) ?? {};
  } catch (e) {
    if (!(e instanceof YamlInputError)) throw e;
    keys.warn('volumes', `prometheus.yml: ${e.message}${e.location ? ` (line ${e.location})` : ''}; no scrape targets derived`);
    return [];
  }
  const global = interval(config.global?.scrape_interval);
  if (global) ctx.monitoring.interval = global;
  if (!kept) for (const k of ['rule_files', 'alerting', 'remote_write']) if (config[k]) keys.warn(`prometheus.yml ${k}`, 'not translated; the stack ships its own alert rules (PrometheusRule)');
  const out: Obj[] = [];
  for (const job of config.scrape_configs ?? []) {
    const every = interval(job.scrape_interval);
    for (const sc of job.static_configs ?? []) {
      for (const t of sc.targets ?? []) out.push({ job: job.job_name, target: String(t), path: job.metrics_path ?? '/metrics', from: keys.service.name, ...(every && every !== global ? { interval: every } : {}) });
    }
    if (kept) continue;
    for (const k of Object.keys(job)) if (!['job_name', 'static_configs', 'metrics_path', 'scrape_interval', 'scrape_timeout'].includes(k)) keys.warn(`prometheus.yml scrape_configs.${job.job_name}.${k}`, 'not translated');
  }
  return out;
}

const interval = (v: unknown) => (typeof v === 'string' && /^[0-9]+(ms|s|m|h)$/.test(v) ? v : undefined);

export function applyScrapes(ctx: Context, scrapes: Obj[], self: Set<string>): void {
  for (const s of scrapes) {
    const [host, port] = s.target.split(':');
    if (self.has(host) || host === 'localhost' || host === '127.0.0.1') continue;
    const svc = ctx.serviceByHost(host);
    const comp = svc && ctx.componentOf(svc.name);
    const c = comp ? ctx.components[comp] : undefined;
    const p = Number(port);
    const scraped = (c?.kind === 'web' && (!port || p === c.port)) || (c?.kind === 'worker' && c.mode === 'continuous' && c.healthPort === p);
    if (scraped) {
      c.metricsPath = s.path;
      if (s.interval) c.metricsInterval = s.interval;
    } else ctx.warn(s.from, `prometheus.yml job ${s.job}`, c ? `target ${s.target}: only the main port of a web component (or a continuous worker's health port) is scraped` : svc ? `target ${s.target}: ${svc.name} is not deployed; not scraped` : `target ${s.target} is not a service of this project; not scraped`);
  }
}
