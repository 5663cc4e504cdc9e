/**
 * Decides what each compose service becomes, from its image, restart policy, ports and labels,
 * before anything is translated (relations need the roles of their targets).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ComposeService } from '../load/model';
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
/** Redis and the servers that speak its protocol and ship its binaries (Valkey, KeyDB). */
const REDIS = new Set(['redis', 'redis-stack-server', 'valkey', 'keydb']);
const STATEFUL = new Set(['redismod', 'redis-stack', 'mysql', 'mariadb', 'mongo', 'mongodb', 'percona-server', 'rabbitmq', 'elasticsearch', 'opensearch', 'minio', 'clickhouse-server', 'influxdb', 'cassandra', 'neo4j', 'kafka', 'zookeeper', 'etcd', 'memcached', 'nats']);
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
export function nginxConfigText(s: ComposeService): string | undefined {
  const texts: string[] = [];
  for (const m of s.config.volumes ?? []) {
    if (m.type !== 'bind' || !m.source || !String(m.target).startsWith('/etc/nginx')) continue;
    if (!existsSync(m.source)) continue;
    const st = statSync(m.source);
    if (st.isFile()) texts.push(readFileSync(m.source, 'utf8'));
    // conf.d and templates folders: every server block file in them.
    else if (st.isDirectory()) for (const f of readdirSync(m.source).sort()) if (/\.(conf|template)$/.test(f)) texts.push(readFileSync(join(m.source, f), 'utf8'));
  }
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** Agents of the Docker host itself: Kubernetes has its own (kubelet's cAdvisor, node exporters, cert-manager). */
const HOST_AGENTS: Record<string, string> = {
  'node-exporter': 'a host exporter; the cluster runs its own node exporter (kube-prometheus-stack)',
  cadvisor: 'a host container monitor; the kubelet already serves cAdvisor metrics',
  'acme-companion': 'an ACME companion of nginx-proxy; cert-manager issues the edge certificate',
  'letsencrypt-nginx-proxy-companion': 'an ACME companion of nginx-proxy; cert-manager issues the edge certificate',
  'docker-gen': 'generates config from the Docker socket; the edge is configured from the spec',
  watchtower: 'updates containers through the Docker socket; deliver new images with the spec (digests in prod)',
  autoheal: 'restarts containers through the Docker socket; Kubernetes restarts unhealthy pods itself',
};
const HOST_PATHS = /^\/(proc|sys|dev)?(\/|$)|^\/var\/lib\/docker(\/|$)/;

/** Why a service is not deployed at all, if it is a host-level agent (never walks the host paths it names). */
export function droppedBecause(s: ComposeService): string | undefined {
  const base = imageBase(s.config.image);
  if (HOST_AGENTS[base]) return HOST_AGENTS[base];
  const host = (s.config.volumes ?? []).filter((m: { type: string; source?: string }) => m.type === 'bind' && m.source && HOST_PATHS.test(m.source)).map((m: { source: string }) => m.source);
  if (host.length > 0) return `mounts the host's ${host.join(', ')}, which a pod under Pod Security "restricted" cannot`;
  return undefined;
}

export function classify(ctx: Context, s: ComposeService): Role {
  const c = s.config;
  const base = imageBase(c.image);
  if (droppedBecause(s)) return 'dropped';
  const controller = String(c.labels?.['kompose.controller.type'] ?? '').toLowerCase();
  if (POSTGRES.has(base)) return 'postgres';
  if (REDIS.has(base)) return 'redis';
  if (STATEFUL.has(base) || controller === 'statefulset') return 'stateful';
  if (base === 'pgadmin4') return 'pgadmin';
  if (base === 'prometheus') return 'prometheus';
  if (PROXIES.has(base) && (base === 'traefik' || /proxy_pass/.test(nginxConfigText(s) ?? '') || (c.ports ?? []).some((p: { target: number }) => p.target === 443))) return 'edge';
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
