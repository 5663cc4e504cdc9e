/**
 * A Prometheus service is not deployed: the cluster's prometheus-operator takes its place. Its
 * scrape configuration (prometheus.yml, when mounted and readable) says which components have
 * metrics and on which path; those get `metricsPath`, and synthesis makes the ServiceMonitors.
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
  const text = configText(ctx, keys);
  for (const k of ['image', 'volumes', 'configs', 'ports', 'command', 'restart', 'depends_on', 'healthcheck', 'networks', 'user']) keys.take(k);
  ctx.note(keys.service.name, 'not deployed: the cluster\'s prometheus-operator scrapes the ServiceMonitors made from its targets');
  ctx.monitoring = {};
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
  const interval = config.global?.scrape_interval;
  if (typeof interval === 'string' && /^[0-9]+(ms|s|m|h)$/.test(interval)) ctx.monitoring.interval = interval;
  for (const k of ['rule_files', 'alerting', 'remote_write']) if (config[k]) keys.warn(`prometheus.yml ${k}`, 'not translated; the stack ships its own alert rules (PrometheusRule)');
  const out: Obj[] = [];
  for (const job of config.scrape_configs ?? []) {
    for (const sc of job.static_configs ?? []) {
      for (const t of sc.targets ?? []) out.push({ job: job.job_name, target: String(t), path: job.metrics_path ?? '/metrics', from: keys.service.name });
    }
    for (const k of Object.keys(job)) if (!['job_name', 'static_configs', 'metrics_path', 'scrape_interval', 'scrape_timeout'].includes(k)) keys.warn(`prometheus.yml scrape_configs.${job.job_name}.${k}`, 'not translated');
  }
  return out;
}

export function applyScrapes(ctx: Context, scrapes: Obj[], self: Set<string>): void {
  for (const s of scrapes) {
    const [host, port] = s.target.split(':');
    if (self.has(host) || host === 'localhost' || host === '127.0.0.1') continue;
    const svc = ctx.serviceByHost(host);
    const comp = svc && ctx.componentOf(svc.name);
    const c = comp ? ctx.components[comp] : undefined;
    const p = Number(port);
    if (c?.kind === 'web' && (!port || p === c.port)) c.metricsPath = s.path;
    else if (c?.kind === 'worker' && c.mode === 'continuous' && c.healthPort === p) c.metricsPath = s.path;
    else ctx.warn(s.from, `prometheus.yml job ${s.job}`, c ? `target ${s.target}: only the main port of a web component (or a continuous worker's health port) is scraped` : `target ${s.target} is not a service of this project; not scraped`);
  }
}
