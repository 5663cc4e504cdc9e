/**
 * Decides what each compose service becomes, from its image, restart policy, ports and labels,
 * before anything is translated (relations need the roles of their targets).
 */
import type { ComposeService } from '../load/model';
import type { ProjectFolder } from '../load/project-folder';
import { buildContext } from './build-context';
import { dialedInMountedConfig } from './config-flows';
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
const STATEFUL = new Set(['redismod', 'redis-stack', 'mysql', 'mariadb', 'mongo', 'mongodb', 'percona-server', 'rabbitmq', 'elasticsearch', 'opensearch', 'minio', 'rustfs', 'seaweedfs', 'clickhouse-server', 'influxdb', 'cassandra', 'neo4j', 'kafka', 'zookeeper', 'etcd', 'memcached', 'nats']);
const PROXIES = new Set(['nginx', 'nginx-unprivileged', 'traefik', 'nginx-proxy']);

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
  // Configuration baked in by the service's own Dockerfile (COPY nginx.conf /etc/nginx/...).
  for (const [dest, text] of buildContext(folder, s)?.copied ?? []) if (dest.startsWith('/etc/nginx')) texts.push(text);
  return texts.length > 0 ? texts.join('\n') : undefined;
}

/** The image a service runs for classification: its own, or for a local build of a proxy, the Dockerfile's base. */
export function baseOf(folder: ProjectFolder, s: ComposeService): string {
  const own = imageBase(s.config.image);
  if (!s.config.build || PROXIES.has(own)) return own;
  const from = imageBase(buildContext(folder, s)?.from);
  return PROXIES.has(from) ? from : own;
}

/** Services some other service waits for to finish (`service_completed_successfully`): init and prestart steps. */
export function waitedFor(ctx: Context, s: ComposeService): string[] {
  return Object.values(ctx.project.services).filter((o) => o.config.depends_on?.[s.name]?.condition === 'service_completed_successfully').map((o) => o.name);
}

/** Tools for the developer's machine only: mail catchers and end-to-end test runners. */
const DEV_TOOLS = new Set(['mailhog', 'mailpit', 'mailcatcher', 'maildev', 'smtp4dev', 'inbucket', 'mailcrab', 'playwright', 'cypress', 'included', 'selenium', 'standalone-chrome']);
const TEST_RUN = /(^|\s)(npx\s+)?(playwright\s+test|cypress\s+run|pytest|jest|vitest|npm\s+(run\s+)?test)(\s|$)/;

export function devTool(s: ComposeService): string | undefined {
  const base = imageBase(s.config.image);
  if (DEV_TOOLS.has(base)) return /mail|smtp|inbucket/.test(base) ? 'a mail catcher' : 'a test runner';
  if (/(^|[-_])(mail(catcher|pit|dev|hog)|playwright|cypress|e2e)([-_]|$)/.test(s.name)) return /mail/.test(s.name) ? 'a mail catcher' : 'a test runner';
  const words = [...(s.config.entrypoint ?? []), ...(s.config.command ?? [])].join(' ');
  if (TEST_RUN.test(words)) return 'a test runner';
  return undefined;
}

/**
 * A one-off CLI in a development profile (airflow-cli, a shell, a console): no port, and its name or
 * command is the tool itself with nothing to run. Compose users `docker compose run` it; it is no workload.
 */
function cliHelper(s: ComposeService): boolean {
  if (!s.localOnly || (s.config.ports ?? []).length > 0 || (s.config.expose ?? []).length > 0) return false;
  const words: string[] = [...(s.config.entrypoint ?? []), ...(s.config.command ?? [])];
  const bare = words.length === 0 || /^((\/usr)?\/bin\/)?(ba)?sh$/.test(words[0]) && (words.length === 1 || (words[1] === '-c' && words.length === 3 && /^[\w.-]+$/.test(words[2])));
  return /(^|[-_])(cli|shell|console|repl|toolbox)$/.test(s.name) && bare;
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
  if (cliHelper(s)) return `a command-line helper in profile ${s.config.profiles.join(', ')}, run by hand (docker compose run ${s.name} ...): in the cluster, kubectl exec into a running pod of the same image`;
  const host = (s.config.volumes ?? []).filter((m: { type: string; source?: string }) => m.type === 'bind' && m.source && HOST_PATHS.test(m.source)).map((m: { source: string }) => m.source);
  if (host.length > 0) return `mounts the host's ${host.join(', ')}, which a pod under Pod Security "restricted" cannot`;
  return undefined;
}

export function classify(ctx: Context, s: ComposeService): Role {
  const c = s.config;
  const base = baseOf(ctx.project.folder, s);
  if (droppedBecause(s)) return 'dropped';
  // What others wait for to finish runs once, before them, whatever its image or restart policy.
  if (waitedFor(ctx, s).length > 0) return 'job';
  const controller = String(c.labels?.['kompose.controller.type'] ?? '').toLowerCase();
  if (POSTGRES.has(base)) return 'postgres';
  if (REDIS.has(base)) return 'redis';
  if (STATEFUL.has(base) || controller === 'statefulset') return 'stateful';
  if (base === 'pgadmin4') return 'pgadmin';
  // A Prometheus others query (a Grafana datasource) keeps running; otherwise the operator replaces it.
  if (base === 'prometheus') return dialersOf(ctx, s).length > 0 ? 'stateful' : 'prometheus';
  // nginx-proxy (jwilder/, nginxproxy/) routes to the services that set VIRTUAL_HOST.
  if (PROXIES.has(base) && (base === 'traefik' || base === 'nginx-proxy' || /proxy_pass/.test(nginxConfigText(ctx.project.folder, s) ?? '') || (c.ports ?? []).some((p: { target: number }) => p.target === 443))) return 'edge';
  if (runsToCompletion(s) && scheduleOf(s)) return 'scheduled';
  // A server that publishes or is dialed on a port serves, even when an override says restart "no";
  // a queue worker that only its own helpers dial (n8n's task broker) stays a worker that serves them.
  if (portsOf(ctx, s).length > 0) {
    if (!declaresPorts(s) && workerProcess(s)) {
      ctx.servingWorkers.add(s.name);
      return 'worker';
    }
    return 'web';
  }
  if (runsToCompletion(s)) return 'job';
  return 'worker';
}

/** A queue worker by its command (`n8n worker`, `celery -A app worker`, `python worker.py`) or its name (`n8n-worker`). */
function workerProcess(s: ComposeService): boolean {
  const words: string[] = [...(s.config.entrypoint ?? []), ...(s.config.command ?? [])].flatMap((w) => String(w).split(/\s+/));
  if (words.some((w) => /(^|\/)workers?(\.(py|js|ts|rb|sh))?$/i.test(w))) return true;
  return /(^|[-_])workers?([-_]\d+)?$/i.test(s.name);
}

/** Ports a service declares for clients or a proxy: published, exposed, or named by routing labels and VIRTUAL_HOST. */
function declaresPorts(s: ComposeService): boolean {
  const c = s.config;
  if ((c.ports ?? []).length > 0 || (c.expose ?? []).length > 0 || virtualHostOf(s)) return true;
  return Object.keys(c.labels ?? {}).some((k) => /^traefik\.http\./.test(k));
}

/** A service's environment as its container gets it: env files, then `environment`. */
function serviceEnv(s: ComposeService): Record<string, unknown> {
  return Object.assign({}, ...(s.envFiles ?? []).map((f) => f.vars), s.config.environment);
}

/** What nginx-proxy reads from a service's environment: VIRTUAL_HOST (even empty: the default host), VIRTUAL_PORT, VIRTUAL_PATH. */
export function virtualHostOf(s: ComposeService): { hosts: string[]; port?: number; path: string } | undefined {
  const env = serviceEnv(s);
  if (!('VIRTUAL_HOST' in env)) return undefined;
  const port = Number(env.VIRTUAL_PORT);
  const path = String(env.VIRTUAL_PATH ?? '').trim();
  return {
    hosts: String(env.VIRTUAL_HOST ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    ...(Number.isInteger(port) && port > 0 && port < 65536 ? { port } : {}),
    path: path.startsWith('/') ? path.replace(/\/+$/, '') || '/' : '/',
  };
}

/** Services that dial `s` on a port: in their environment, the files they mount, or through links. */
export function dialersOf(ctx: Context, s: ComposeService): string[] {
  const dialed = hostPort(s.name);
  const out = new Set<string>();
  for (const other of Object.values(ctx.project.services)) {
    if (other === s) continue;
    if (Object.values(serviceEnv(other)).some((v) => typeof v === 'string' && dialed.test(v))) out.add(other.name);
    if ((other.config.links ?? []).some((l: string) => String(l).split(':')[0] === s.name)) out.add(other.name);
  }
  for (const f of dialedInMountedConfig(ctx.project.folder, ctx.project.services, s)) out.add(f.from);
  return [...out];
}

/** `name:port` in a URL, a host list or a bare pair. */
const hostPort = (name: string) => new RegExp(`(?:^|[/@,\\s])${name.replace(/[.]/g, '\\.')}:(\\d+)`);

/** Container ports of a service: ports, expose, a Traefik port label, or what other services dial. */
export function portsOf(ctx: Context, s: ComposeService): number[] {
  const c = s.config;
  const ports = new Set<number>();
  for (const p of c.ports ?? []) if (p.protocol === 'tcp') ports.add(p.target);
  for (const e of c.expose ?? []) for (const n of String(e).split('/')[0].split('-').map(Number)) if (Number.isInteger(n)) ports.add(n);
  for (const [k, v] of Object.entries(c.labels ?? {})) {
    if (/^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.test(k)) ports.add(Number(v));
  }
  // nginx-proxy reaches a VIRTUAL_HOST on VIRTUAL_PORT, else its only exposed port, else 80.
  const virtual = virtualHostOf(s);
  if (virtual && (virtual.port !== undefined || ports.size === 0)) ports.add(virtual.port ?? 80);
  // Compose lets containers dial any port without declaring it: a URL another service names is served
  // (n8n's task broker on 5679 beside its published 5678), and so is what a proxy or settings file names.
  const dialed = new RegExp(hostPort(s.name).source, 'g');
  for (const other of Object.values(ctx.project.services)) {
    if (other === s) continue;
    for (const v of Object.values(serviceEnv(other))) if (typeof v === 'string') for (const m of v.matchAll(dialed)) ports.add(Number(m[1]));
  }
  if (ports.size === 0) {
    const proxied = new RegExp(`(?:proxy_pass\\s+https?://|fastcgi_pass\\s+|uwsgi_pass\\s+|grpc_pass\\s+(?:grpcs?://)?|server\\s+)${s.name.replace(/[.]/g, '\\.')}:(\\d+)`, 'g');
    // An nginx in front of it (mounted or baked config) names the port it proxies to.
    for (const other of Object.values(ctx.project.services)) {
      if (other !== s && PROXIES.has(baseOf(ctx.project.folder, other))) for (const m of (nginxConfigText(ctx.project.folder, other) ?? '').matchAll(proxied)) ports.add(Number(m[1]));
    }
    // A settings file another service mounts (a datasource, an app config) names the port it dials.
    // (A Prometheus scrape target is a metrics port, which a worker serves too: not evidence of a server.)
    for (const f of dialedInMountedConfig(ctx.project.folder, ctx.project.services, s)) if (imageBase(ctx.project.services[f.from].config.image) !== 'prometheus') ports.add(f.port);
  }
  return [...ports];
}
