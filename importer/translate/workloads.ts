/**
 * Application services: web (a port), continuous worker (no port, or ports only the stack dials), scheduled worker (runs to
 * completion on a schedule) and job (runs to completion once). Command, environment, mounts,
 * health checks, resources, user and grace period are translated here; relations and ordering
 * come from `depends_on` in index.ts.
 */
import { dialersOf, scheduleOf } from './classify';
import type { Context, Keys, Role } from './context';
import { pick } from './databases';
import { expandSecrets, translateEnv } from './env';
import { seconds, translateHealth } from './health';
import { specPath, translateBuild, watchSyncs } from './build';
import { imageOf } from './images';
import { translateMounts } from './volumes';

type Obj = Record<string, any>;

/** Compose cpus ("0.5") and memory ("512M", "1gb", bytes) as Kubernetes quantities. */
export function cpuQuantity(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) return undefined;
  return Number.isInteger(n) ? String(n) : `${Math.max(1, Math.round(n * 1000))}m`;
}
export function memoryQuantity(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kmgt])?i?b?$/i.exec(String(v).trim());
  if (!m) return undefined;
  return m[2] ? `${m[1]}${m[2].toUpperCase()}i` : m[1];
}

function resources(keys: Keys): Obj | undefined {
  const r: Obj = keys.config.deploy?.resources ?? {};
  const limCpu = cpuQuantity(r.limits?.cpus ?? keys.take('cpus'));
  const limMem = memoryQuantity(r.limits?.memory ?? keys.take('mem_limit'));
  const resCpu = cpuQuantity(r.reservations?.cpus);
  const resMem = memoryQuantity(r.reservations?.memory ?? keys.take('mem_reservation'));
  for (const [k, v, q] of [['deploy.resources.limits.cpus', r.limits?.cpus, limCpu], ['deploy.resources.limits.memory', r.limits?.memory, limMem], ['deploy.resources.reservations.memory', r.reservations?.memory, resMem]] as const) {
    if (v !== undefined && q === undefined) keys.fail(k, `"${v}" is not a size such as "512M" or "0.5"`);
  }
  if (!limCpu && !limMem && !resCpu && !resMem) return undefined;
  // The spec wants requests and a memory limit; compose often gives only one side.
  return {
    requests: { cpu: resCpu ?? '100m', memory: resMem ?? limMem, ephemeralStorage: '64Mi' },
    limits: { ...(limCpu ? { cpu: limCpu } : {}), memory: limMem ?? resMem, ephemeralStorage: '1Gi' },
  };
}

const DASHBOARD = /streamlit|(^|[^a-z])dash([^a-z]|$)|plotly|gradio|panel serve/i;

export function translateApp(ctx: Context, keys: Keys, name: string, role: Role, ports: number[]): Obj {
  const build = translateBuild(ctx, keys);
  const image = imageOf(ctx, keys, name, undefined, build !== undefined);
  const env = translateEnv(ctx, keys, name);
  const mounts = translateMounts(ctx, keys, { buildContext: build?.dir });
  const secretEnv = env.secretEnv;
  const words = (k: string) => keys.take<string[]>(k)?.map((w) => expandSecrets(ctx, w, secretEnv, `${k} of ${keys.service.name}`));
  const c: Obj = { kind: role === 'scheduled' ? 'worker' : role, image };
  const command = words('entrypoint');
  const args = words('command');
  if (command) c.command = command;
  if (args) c.args = args;
  // A job without a command runs the image's own; an empty args list says so (the spec's job default is alembic).
  if (role === 'job' && !command && !args) c.args = [];
  const health = translateHealth(ctx, keys, secretEnv);
  const grace = keys.take('stop_grace_period');
  const user = keys.take('user');
  if (user !== undefined) {
    const uid = Number(String(user).split(':')[0]);
    if (Number.isInteger(uid) && uid >= 10000) c.runAsUser = uid;
    else keys.warn('user', `runs as uid 10001 instead of ${user}: pods run as a non-root uid >= 10000 (the image must not depend on its user)`);
  }
  const text = `${image} ${(command ?? []).join(' ')} ${(args ?? []).join(' ')}`;
  // Ports were read by classification (portsOf); workers and jobs accept no connections.
  for (const k of ['ports', 'expose'] as const) if (keys.take(k) && role !== 'web') keys.warn(k, `a ${role === 'scheduled' ? 'scheduled worker' : role} accepts no connections; no Service is made`);

  if (role === 'web') {
    const main = health?.http?.port && ports.includes(health.http.port) ? health.http.port : ports[0];
    c.role = DASHBOARD.test(text) || main === 8501 || main === 8050 ? 'dashboard' : 'api';
    // The port stays as the image serves it: below 1024 too (the pod's sysctl lets a non-root process bind it).
    c.port = main;
    if (main < 1024) ctx.note(keys.service.name, `listens on ${main} as a non-root uid: the pod sets net.ipv4.ip_unprivileged_port_start=${Math.min(...ports)}`);
    const extra = ports.filter((p) => p !== main);
    if (extra.length) c.extraPorts = extra.map((p) => ({ name: `port-${p}`, port: p }));
    const http = health?.http && health.http.port === main ? health.http : undefined;
    const timing = health?.probe && typeof health.probe === 'object' ? health.probe : {};
    if (http) c.healthPath = http.path;
    else if (health?.probe === false) c.probe = false;
    else if (health?.probe && (health.probe as Obj).command) c.probe = health.probe;
    // An HTTP check on another port than the Service's: run it as compose did.
    else if (health?.http && health.command) c.probe = { command: health.command, ...timing };
    else if (/streamlit/i.test(text)) c.healthPath = '/_stcore/health';
    else {
      c.probe = { tcpPort: c.port, ...timing };
      ctx.note(keys.service.name, `no HTTP healthcheck: probed by a TCP connect to ${c.port}`);
    }
    if (c.healthPath && Object.keys(timing).length > 0 && !timing.command) c.probe = timing;
    const replicas = Number(keys.config.deploy?.replicas ?? keys.take('scale') ?? 1);
    if (replicas > 1) c.replicas = replicas;
    if (grace !== undefined) c.terminationGracePeriodSeconds = Math.min(3600, seconds(grace) ?? 30);
  } else if (role === 'worker') {
    c.mode = 'continuous';
    if (health?.http && health.http.port) {
      c.healthPort = health.http.port;
      c.healthPath = health.http.path;
      if (typeof health.probe === 'object' && Object.keys(health.probe).length) c.probe = health.probe;
    } else if (health?.probe !== undefined && (health.probe === false || (health.probe as Obj).command)) c.probe = health.probe;
    else if (health?.http && health.command) c.probe = { command: health.command, ...(health.probe as Obj) };
    else {
      c.probe = false;
      ctx.note(keys.service.name, 'no healthcheck: runs without probes (Kubernetes restarts it when the process exits)');
    }
    // Ports others dial (classify.ts servingWorkers), beside the health port the Service already has.
    const served = ports.filter((p) => p !== c.healthPort);
    if (served.length > 0) {
      c.ports = served.map((p) => ({ name: `port-${p}`, port: p }));
      ctx.note(keys.service.name, `a worker that serves ${served.join(', ')} to the stack (dialed by ${dialersOf(ctx, keys.service).join(', ')}): its headless Service lists ${served.length > 1 ? 'them' : 'it'}, the edge never routes ${served.length > 1 ? 'them' : 'it'}`);
    }
    const replicas = Number(keys.config.deploy?.replicas ?? keys.take('scale') ?? 1);
    if (replicas > 1) c.replicas = replicas;
    if (grace !== undefined) c.terminationGracePeriodSeconds = Math.min(3600, seconds(grace) ?? 30);
  } else {
    if (health) keys.warn('healthcheck', 'runs to completion; its exit code is the health signal');
    if (role === 'scheduled') {
      c.mode = 'scheduled';
      const s = scheduleOf(keys.service)!;
      if (!s.from.startsWith('labels.') && !s.from.startsWith('environment.')) keys.take(s.from.split('.')[0]);
      const check = /^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/.test(s.cron.trim());
      if (!check) keys.fail(s.from.replace(/^environment\./, 'environment.'), `"${s.cron}" is not a five-field cron schedule such as "0 0 * * *"`);
      c.schedule = s.cron.trim();
      const tz = s.timeZone ?? keys.config.labels?.['kompose.cronjob.timezone'];
      if (tz) c.timeZone = tz;
      const backoff = keys.config.labels?.['kompose.cronjob.backoff_limit'];
      if (backoff !== undefined) c.backoffLimit = Number(backoff);
      const policy = keys.config.labels?.['kompose.cronjob.concurrency_policy'];
      if (policy && policy !== 'Forbid') keys.warn('labels.kompose.cronjob.concurrency_policy', `"${policy}" is not kept: runs never overlap (Forbid), so a slow run is not duplicated`);
      if (grace !== undefined) c.terminationGracePeriodSeconds = Math.min(3600, seconds(grace) ?? 30);
      keys.take('triggers');
    } else {
      keys.take('triggers');
      const backoff = keys.config.deploy?.restart_policy?.max_attempts;
      if (backoff !== undefined) c.backoffLimit = Math.min(20, Number(backoff));
    }
    if (grace && role === 'job') keys.warn('stop_grace_period', 'jobs use the default termination grace period (30 s)');
  }
  const res = resources(keys);
  Object.assign(c, pick({ env: env.env, secretEnv, envFrom: env.envFrom, uses: env.uses, volumes: mounts.volumes, files: mounts.files, secretFiles: mounts.secretFiles }));
  // A volume or file mounted at a scratch path takes its place (one mount per path).
  const mounted = new Set([...(mounts.volumes ?? []).map((v: Obj) => v.path), ...Object.keys(mounts.files ?? {}), ...Object.keys(mounts.secretFiles ?? {})]);
  const writable = [...new Set(['/tmp', ...mounts.writablePaths])].filter((p) => !mounted.has(p));
  if (writable.join() !== '/tmp') c.writablePaths = writable;
  if (res) c.resources = res;
  if (env.egress.size > 0) {
    // Outside addresses are unknown until run time; the ports at least stay as narrow as compose says.
    c.egress = [{ cidr: '0.0.0.0/0', ports: [...env.egress].sort((a, b) => a - b) }];
    ctx.note(keys.service.name, `calls outside hosts: egress allowed on port${env.egress.size > 1 ? 's' : ''} ${c.egress[0].ports.join(', ')}`);
  }
  if (build) {
    const sync = [...mounts.sync, ...watchSyncs(keys, build)].map((s) => ({ from: specPath(ctx, s.source), to: s.target }));
    c.build = { ...build.spec, ...(sync.length > 0 ? { sync } : {}) };
    ctx.note(keys.service.name, `built from ${build.spec.context} by stackport dev${sync.length > 0 ? `, which syncs ${sync.map((s) => s.to).join(', ')} as you edit` : ''}; to run it without, build it as ${image} and load it into the cluster (kind load docker-image ${image})`);
  }
  return c;
}
