/**
 * Decides what each compose service becomes, from its image, restart policy, ports and labels,
 * before anything is translated (relations need the roles of their targets).
 */
import type { ComposeService } from '../load/model';
import type { ProjectFolder } from '../load/project-folder';
import type { Context, Role } from './context';

/** "docker.io/library/postgres:16.4" -> "postgres"; "bitnami/postgresql@sha256:..." -> "postgresql". */
export function imageBase(image: string | undefined): string {
  if (!image) return '';
  const noDigest = image.split('@')[0];
  const last = noDigest.slice(noDigest.lastIndexOf('/') + 1);
  return last.split(':')[0].toLowerCase();
}

const POSTGRES = new Set(['postgres', 'postgresql', 'postgis', 'timescaledb']);
/** Servers that keep data: StatefulSets with claim templates, never routed. */
const STATEFUL = new Set(['mysql', 'mariadb', 'mongo', 'mongodb', 'percona-server', 'rabbitmq', 'elasticsearch', 'opensearch', 'minio', 'clickhouse-server', 'influxdb', 'cassandra', 'neo4j', 'kafka', 'zookeeper', 'etcd', 'valkey', 'memcached', 'nats']);
const PROXIES = new Set(['nginx', 'nginx-unprivileged', 'traefik']);

/** Whether the container runs to completion: compose `restart: "no"` or `on-failure`, or a top-level job. */
export function runsToCompletion(s: ComposeService): boolean {
  if (s.job) return true;
  const restart = s.config.restart ?? s.config.deploy?.restart_policy?.condition;
  return restart === 'no' || restart === 'on-failure' || restart === 'none' || (typeof restart === 'string' && restart.startsWith('on-failure'));
}

/** The cron schedule of a run-to-completion service and where it came from, if it has one. */
export function scheduleOf(s: ComposeService): { cron: string; from: string; timeZone?: string } | undefined {
  const c = s.config;
  const trigger = c.triggers?.schedule?.[0];
  if (trigger) return typeof trigger === 'string' ? { cron: trigger, from: 'triggers.schedule' } : { cron: trigger.cron, timeZone: trigger.timezone, from: 'triggers.schedule' };
  const label = c.labels?.['kompose.cronjob.schedule'];
  if (label) return { cron: label, from: 'labels.kompose.cronjob.schedule' };
  for (const k of ['x-schedule', 'x-cron']) if (typeof c[k] === 'string') return { cron: c[k], from: k };
  for (const [k, v] of Object.entries(c.environment ?? {})) {
    if (typeof v === 'string' && (k === 'SCHEDULE' || k === 'CRON' || k.endsWith('_CRON') || k === 'CRON_SCHEDULE')) return { cron: v, from: `environment.${k}` };
  }
  return undefined;
}

/** Does an nginx service proxy to other services? Reads its mounted config when it can. */
export function nginxConfigText(folder: ProjectFolder, s: ComposeService): string | undefined {
  const texts: string[] = [];
  for (const m of s.config.volumes ?? []) {
    if (m.type !== 'bind' || !m.source || !String(m.target).startsWith('/etc/nginx')) continue;
    const kind = folder.kind(m.source);
    if (kind === 'file') texts.push(folder.readText(m.source) ?? '');
    // conf.d and templates folders: every server block file in them.
    else if (kind === 'dir') for (const f of folder.list(m.source, 0).files) if (/\.(conf|template)$/.test(f)) texts.push(folder.readText(f) ?? '');
  }
  return texts.length > 0 ? texts.join('\n') : undefined;
}

export function classify(ctx: Context, s: ComposeService): Role {
  const c = s.config;
  const base = imageBase(c.image);
  const controller = String(c.labels?.['kompose.controller.type'] ?? '').toLowerCase();
  if (POSTGRES.has(base)) return 'postgres';
  if (base === 'redis' || base === 'redis-stack-server') return 'redis';
  if (STATEFUL.has(base) || controller === 'statefulset') return 'stateful';
  if (base === 'pgadmin4') return 'pgadmin';
  if (base === 'prometheus') return 'prometheus';
  if (PROXIES.has(base) && (base === 'traefik' || /proxy_pass/.test(nginxConfigText(ctx.project.folder, s) ?? '') || (c.ports ?? []).some((p: { target: number }) => p.target === 443))) return 'edge';
  if (runsToCompletion(s)) return scheduleOf(s) ? 'scheduled' : 'job';
  if (portsOf(ctx, s).length > 0) return 'web';
  return 'worker';
}

/** Container ports of a service: ports, expose, a Traefik port label, or what other services dial. */
export function portsOf(ctx: Context, s: ComposeService): number[] {
  const c = s.config;
  const ports = new Set<number>();
  for (const p of c.ports ?? []) if (p.protocol === 'tcp') ports.add(p.target);
  for (const e of c.expose ?? []) for (const n of String(e).split('/')[0].split('-').map(Number)) if (Number.isInteger(n)) ports.add(n);
  for (const [k, v] of Object.entries(c.labels ?? {})) {
    if (/^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(k)) ports.add(Number(v));
  }
  if (ports.size === 0) {
    // Compose lets containers dial any port without declaring it; look at what the others dial.
    const dialed = new RegExp(`(?:^|[/@,\\s])${s.name.replace(/[.]/g, '\\.')}:(\\d+)`);
    for (const other of Object.values(ctx.project.services)) {
      for (const v of Object.values(other.config.environment ?? {})) {
        const m = typeof v === 'string' ? dialed.exec(v) : null;
        if (m) ports.add(Number(m[1]));
      }
    }
  }
  return [...ports];
}
