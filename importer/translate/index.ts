/**
 * ComposeProject -> stack spec input. Services are classified first (relations need the roles of
 * their targets), data servers translated before the applications that connect to them, then
 * routes, scrape targets, ordering and local-only services are settled over the whole stack.
 */
import { SPEC_VERSION } from '../../model/schema';
import { ComposeError, fail, type ComposeIssue } from '../load/errors';
import type { ComposeProject, ComposeService, ImportWarning } from '../load/model';
import { classify, devTool, dialersOf, droppedBecause, imageBase, portsOf, runsToCompletion, virtualHostOf } from './classify';
import { Context, Keys, type FoundSecret, type ProvidedSecret, type Role, type TranslateOptions } from './context';
import { translatePgadmin, translatePostgres, translateRedis, translateStateful } from './databases';
import { mountedConfigFlows } from './config-flows';
import { addFlow } from './env';
import { reportExternals } from './external';
import { assignRoutes, traefikLabels, translateProxy, virtualHostRoutes } from './edge';
import { applyScrapes, scrapeTargets, translatePrometheus } from './prometheus';
import { balancedCopies } from './replicas';
import { translateApp } from './workloads';

type Obj = Record<string, any>;

export interface TranslateResult {
  readonly spec: Obj;
  readonly warnings: ImportWarning[];
  /** What each compose service became, and notes on how. */
  readonly summary: Map<string, string[]>;
  /** Secret keys the user must create. */
  readonly secrets: ProvidedSecret[];
  /** The compose service behind each component. */
  readonly origins: Map<string, ComposeService>;
  /** Every value made a Secret reference (variable, service, rule; never the value). */
  readonly found: readonly FoundSecret[];
  /** Literal secret text seen while translating, for the leak check (memory only). */
  readonly secretStrings: ReadonlySet<string>;
}

const ORDER: Role[] = ['postgres', 'redis', 'stateful', 'pgadmin', 'edge', 'prometheus', 'web', 'worker', 'scheduled', 'job', 'dropped'];
const KOMPOSE_READ = /^kompose\.(cronjob\.(schedule|backoff_limit|concurrency_policy|timezone)|volume\.size|controller\.type|service\.healthcheck\..+|service\.expose(\.tls-secret)?|hpa\..+)$/;

const KOMPOSE_REASONS: Record<string, string> = {
  'kompose.service.type': 'Services stay ClusterIP; the edge (Gateway or Ingress) is the public entry',
  'kompose.service.nodeport': 'Services stay ClusterIP; the edge (Gateway or Ingress) is the public entry',
  'kompose.image-pull-policy': 'the environment presets set imagePullPolicy (IfNotPresent locally, Always in prod)',
  'kompose.image-pull-secret': 'not in the spec; attach pull secrets to the namespace default service account',
  'kompose.serviceaccount-name': 'pods run without a service-account token',
  'kompose.security-context': 'pods always run as a non-root uid >= 10000 with fsGroup set',
  'kompose.service.group': 'one container per pod; share a volume instead',
  'kompose.init': 'wait for a job with after, or for a server with uses',
  'kompose.controller.port': 'hostPort is not allowed under Pod Security "restricted"',
};

export function translate(project: ComposeProject, options: TranslateOptions = {}, detected: ReadonlyMap<string, string> = new Map()): TranslateResult {
  const ctx = new Context(project, options, detected);
  const origins = new Map<string, ComposeService>();
  for (const s of Object.values(project.services)) {
    const comp = ctx.componentOf(s.name)!;
    const other = origins.get(comp);
    if (other) fail(s.file, ['services', s.name], `becomes the component "${comp}", as "${other.name}" does; rename one of them`, project.locate(s.file, ['services', s.name]));
    origins.set(comp, s);
  }
  for (const s of Object.values(project.services)) ctx.roles.set(s.name, classify(ctx, s));
  const services = Object.values(project.services).sort((a, b) => ORDER.indexOf(ctx.roles.get(a.name)!) - ORDER.indexOf(ctx.roles.get(b.name)!));
  // Copies a proxy balances over become one component with replicas; their names lead to it.
  const copies = balancedCopies(ctx);
  for (const [copy, { first }] of copies) ctx.names.set(copy, ctx.componentOf(first)!);
  // Traefik labels route even without a Traefik service: the file runs behind a Traefik of its host.
  const traefikService = services.some((s) => ctx.roles.get(s.name) === 'edge' && imageBase(s.config.image) === 'traefik');
  const labelled = services.filter((s) => ctx.roles.get(s.name) !== 'edge' && Object.keys(s.config.labels ?? {}).some((k) => /^traefik\.http\.routers\.[^.]+\.rule$/.test(k)));
  const traefik = traefikService || labelled.length > 0;
  if (!traefikService && labelled.length > 0 && !services.some((s) => ctx.roles.get(s.name) === 'edge')) {
    ctx.edge ??= {};
    ctx.warn('(project)', 'labels', `Traefik labels of ${labelled.map((s) => s.name).join(', ')} are for a Traefik outside this file; they become the edge's routes (Gateway or Ingress)`);
  }
  // VIRTUAL_HOST without an nginx-proxy service: the file runs behind the host's nginx-proxy.
  const virtual = services.filter((s) => ctx.roles.get(s.name) !== 'edge' && virtualHostOf(s));
  if (virtual.length > 0 && !services.some((s) => ctx.roles.get(s.name) === 'edge')) {
    ctx.edge ??= {};
    ctx.warn('(project)', 'environment', `VIRTUAL_HOST of ${virtual.map((s) => s.name).join(', ')} is for an nginx-proxy outside this file; it becomes the edge's routes (Gateway or Ingress)`);
  }
  const scrapes: Obj[] = [];
  const afters: [Keys, string, string][] = [];
  const prometheus = new Set<string>();
  // Every service is translated even when an earlier one has a problem, so one run reports them all.
  const problems: ComposeIssue[] = [];
  for (const s of services) {
    const copy = copies.get(s.name);
    if (copy) {
      ctx.note(s.name, `a copy of ${copy.first} that ${copy.proxy} balances over: one of the ${copy.count} replicas of component ${ctx.componentOf(s.name)}`);
      continue;
    }
    try {
      translateService(ctx, s, traefik, scrapes, afters, prometheus);
    } catch (e) {
      // A service that reads a component which failed to translate fails too: the first problem is the one to report.
      if (!(e instanceof ComposeError)) {
        if (problems.length > 0) continue;
        throw e;
      }
      problems.push(...e.issues);
    }
  }
  if (problems.length > 0) throw new ComposeError(problems);
  for (const { first, count } of copies.values()) {
    const c = ctx.components[ctx.componentOf(first)!];
    if (c) c.replicas = Math.max(c.replicas ?? 1, count);
  }
  reportExternals(ctx);
  topLevel(ctx);
  applyScrapes(ctx, scrapes, prometheus);
  virtualHostRoutes(ctx);
  assignRoutes(ctx);
  settleAfters(ctx, afters);
  dropDerived(ctx);
  sharedVolumes(ctx);
  const environments = localOnly(ctx);
  for (const s of services) summarize(ctx, s);
  // Components and the summary follow the compose file's order; servers outside the project come last.
  const inOrder = Object.values(project.services);
  const names = [...inOrder.map((s) => ctx.componentOf(s.name)!), ...[...ctx.externals.values()].map((e) => e.component)];
  const components = Object.fromEntries(names.filter((n) => ctx.components[n]).map((n) => [n, ordered(ctx.components[n])]));
  const summary = new Map(inOrder.map((s) => [s.name, ctx.summary.get(s.name) ?? []]));
  const spec: Obj = { apiVersion: SPEC_VERSION, name: project.name, components };
  if (/\u0001/.test(JSON.stringify(components))) throw new Error('internal: a secret variable was left unresolved in the spec');
  if (Object.keys(ctx.volumes).length) spec.volumes = ctx.volumes;
  if (Object.keys(ctx.envFiles).length) spec.envFiles = ctx.envFiles;
  if (applicationCode(ctx)) {
    // Application code can dial any service; what env, proxy config, links and depends_on show may not be all of it.
    spec.network = { mode: 'stack' };
    ctx.warn('(project)', 'network', 'flows come from env, proxy config, links, depends_on and mounted config, but the code may dial more: network.mode is "stack" (every pod may reach every Service port of the stack; DNS allowed; the outside denied except declared egress). To tighten: check the uses of each component against what it really dials, then set network.mode: declared');
  }
  if (ctx.edge && Object.keys(ctx.edge).length) spec.edge = ctx.edge;
  spec.monitoring = ctx.monitoring ?? { enabled: false };
  if (Object.keys(ctx.prodEdge).length) environments.prod = { ...environments.prod, edge: ctx.prodEdge };
  if (Object.keys(environments).length) spec.environments = environments;
  return { spec, warnings: [...project.warnings, ...ctx.warnings], summary, secrets: [...ctx.provided.values()], origins, found: ctx.found, secretStrings: ctx.secretStrings };
}

function translateService(ctx: Context, s: ComposeService, traefik: boolean, scrapes: Obj[], afters: [Keys, string, string][], prometheus: Set<string>): void {
  const keys = new Keys(ctx, s);
  const comp = ctx.componentOf(s.name)!;
  const role = ctx.roles.get(s.name)!;
  if (role === 'dropped') {
    // Nothing of it is translated, so its keys are not listed one by one.
    keys.skip(...Object.keys(s.config));
    keys.warn('image', `not deployed: ${droppedBecause(s)}`);
    return;
  }
  if (role === 'postgres') ctx.components[comp] = translatePostgres(ctx, keys, comp);
  else if (role === 'redis') ctx.components[comp] = translateRedis(ctx, keys, comp);
  else if (role === 'stateful') {
    if (imageBase(s.config.image) === 'prometheus') {
      // Dialed by another service (classify), so it runs; its targets still make the ServiceMonitors.
      scrapes.push(...scrapeTargets(ctx, keys, true));
      prometheus.add(s.name);
      const dialers = dialersOf(ctx, s);
      ctx.note(s.name, `kept as a stateful server: ${dialers.join(', ')} ${dialers.length > 1 ? 'dial' : 'dials'} it; it scrapes with its own configuration, and the cluster's prometheus-operator gets ServiceMonitors for the same targets`);
    }
    ctx.components[comp] = translateStateful(ctx, keys, comp, portsOf(ctx, s));
  }
  else if (role === 'pgadmin') ctx.components[comp] = translatePgadmin(ctx, keys, comp);
  else if (role === 'edge') translateProxy(ctx, keys);
  else if (role === 'prometheus') {
    scrapes.push(...translatePrometheus(ctx, keys));
    prometheus.add(s.name);
  } else ctx.components[comp] = translateApp(ctx, keys, comp, role, portsOf(ctx, s));
  common(ctx, keys, comp, role, traefik, afters);
  keys.finish();
}

/** Keys every service has: labels, depends_on, deploy, restart, profiles. */
function common(ctx: Context, keys: Keys, comp: string, role: Role, traefik: boolean, afters: [Keys, string, string][]): void {
  const c = ctx.components[comp];
  const labels: Obj = keys.take('labels') ?? {};
  const used = traefik && role !== 'edge' ? traefikLabels(ctx, keys) : new Set<string>();
  const others: string[] = [];
  for (const k of Object.keys(labels)) {
    if (used.has(k) || role === 'edge' || KOMPOSE_READ.test(k)) continue;
    if (k.startsWith('kompose.')) keys.warn(`labels.${k}`, KOMPOSE_REASONS[k.split('.').slice(0, 3).join('.')] ?? KOMPOSE_REASONS[k.split('.').slice(0, 2).join('.')] ?? 'this Kompose label is not translated');
    else if (k.startsWith('traefik.')) keys.warn(`labels.${k}`, 'no Traefik proxy in this project; not translated');
    else others.push(k);
  }
  const controller = String(labels['kompose.controller.type'] ?? '').toLowerCase();
  if (controller && !['deployment', 'statefulset'].includes(controller)) keys.warn('labels.kompose.controller.type', `"${labels['kompose.controller.type']}" is not in the spec; it runs as a ${c?.kind === 'stateful' ? 'StatefulSet' : 'Deployment, CronJob or Job by its role'}`);
  if (others.length) keys.warn('labels', `not copied (${others.join(', ')}); objects get the standard app.kubernetes.io labels`);
  if (c?.kind === 'web' && labels['kompose.hpa.replicas.max']) {
    c.autoscaling = { maxReplicas: Number(labels['kompose.hpa.replicas.max']), ...(labels['kompose.hpa.cpu'] ? { cpuUtilization: Number(labels['kompose.hpa.cpu']) } : {}) };
    if (labels['kompose.hpa.replicas.min'] && Number(labels['kompose.hpa.replicas.min']) > 1) c.replicas = Number(labels['kompose.hpa.replicas.min']);
  }
  const deploy: Obj = keys.take('deploy') ?? {};
  for (const k of Object.keys(deploy)) {
    if (k === 'replicas' && !(c?.kind === 'web' || (c?.kind === 'worker' && c.mode === 'continuous')) && Number(deploy.replicas) > 1) keys.warn('deploy.replicas', `a ${role === 'scheduled' ? 'scheduled worker' : role} runs one pod`);
    else if (k === 'resources' && c === undefined) keys.warn('deploy.resources', 'not used: this service is not deployed');
    else if (k === 'mode' && deploy.mode === 'replicated') continue;
    else if (k === 'mode') keys.warn('deploy.mode', `"${deploy.mode}" is not in the spec (no DaemonSets); it runs as ${c?.kind === 'web' ? 'a Deployment' : 'one workload'}`);
    else if (k === 'resources') {
      for (const [side, v] of Object.entries<Obj>(deploy.resources ?? {})) {
        for (const sub of Object.keys(v ?? {})) if (!['cpus', 'memory'].includes(sub)) keys.warn(`deploy.resources.${side}.${sub}`, sub === 'devices' ? 'devices (GPUs) are not in the spec' : 'only cpus and memory are translated');
      }
    } else if (k === 'restart_policy') {
      for (const sub of Object.keys(deploy.restart_policy ?? {})) if (!['condition', 'max_attempts'].includes(sub)) keys.warn(`deploy.restart_policy.${sub}`, 'Kubernetes restarts with its own back-off');
    } else if (k !== 'replicas') keys.warn(`deploy.${k}`, k === 'placement' ? 'scheduling constraints are not in the spec; prod spreads replicas over nodes' : 'not translated');
  }
  const restart = keys.take('restart');
  if (c?.kind === 'web' && runsToCompletion(keys.service)) keys.warn('restart', `"${restart ?? keys.config.deploy?.restart_policy?.condition}" is not kept: it serves on a port, so it runs as a Deployment that Kubernetes restarts`);
  keys.take('profiles');
  keys.take('scale');
  for (const [dep, cond] of Object.entries<Obj>(keys.take('depends_on') ?? {})) {
    const target = ctx.project.services[dep];
    const tRole = target && ctx.roles.get(dep);
    if (!target) {
      keys.warn(`depends_on.${dep}`, `${dep} is left out (inactive profile); the dependency is dropped`);
      continue;
    }
    if (c === undefined) continue;
    const to = ctx.componentOf(dep)!;
    if (tRole === 'job') {
      if (cond.condition === 'service_completed_successfully') afters.push([keys, comp, to]);
      else keys.warn(`depends_on.${dep}`, `waiting for a job to start means nothing in Kubernetes; use condition service_completed_successfully to wait for it to finish`);
    } else if (ctx.dialable(dep)) {
      if (!['web', 'worker', 'job', 'stateful'].includes(c.kind)) {
        keys.warn(`depends_on.${dep}`, `a ${c.kind} component makes no connections of its own; the dependency is dropped`);
        continue;
      }
      c.uses ??= [];
      addFlow(ctx, c as { uses: Obj[] }, to, comp);
      if (cond.condition === 'service_healthy') ctx.note(keys.service.name, `waits for ${dep} by retrying: Kubernetes restarts the pod until ${to} is ready (readiness probe)`);
    } else if (tRole === 'edge' || tRole === 'prometheus') continue;
    else if (tRole === 'dropped') keys.warn(`depends_on.${dep}`, `${dep} is not deployed; the dependency is dropped`);
    else keys.warn(`depends_on.${dep}`, `${dep} (${tRole}) accepts no connections; start order between long-running services is not kept in Kubernetes`);
  }
  // Links name services this one dials (and aliases for them): each is a flow.
  for (const link of keys.take<string[]>('links') ?? []) {
    const dep = String(link).split(':')[0];
    if (c === undefined || !ctx.project.services[dep] || !['web', 'worker', 'job', 'stateful'].includes(c.kind)) continue;
    if (ctx.dialable(dep)) {
      c.uses ??= [];
      addFlow(ctx, c as { uses: Obj[] }, ctx.componentOf(dep)!, comp);
    }
    if (String(link).includes(':') && String(link).split(':')[1] !== dep) keys.warn('links', `the alias ${String(link).split(':')[1]} of ${dep} is not a host name in Kubernetes; use ${ctx.componentOf(dep)}`);
  }
  if (c && ['web', 'worker', 'job', 'stateful'].includes(c.kind)) configFlows(ctx, keys, c, comp);
  if (c?.uses && c.uses.length === 0) delete c.uses;
}

/** Flows written in the files the service mounts: admitted like env URLs, or said to go nowhere. */
function configFlows(ctx: Context, keys: Keys, c: Obj, comp: string): void {
  for (const f of mountedConfigFlows(ctx.project.folder, ctx.project.services, keys.service)) {
    const role = ctx.roles.get(f.service);
    if (ctx.dialable(f.service)) {
      c.uses ??= [];
      const had = c.uses.some((u: Obj) => u.to === ctx.componentOf(f.service));
      addFlow(ctx, c as { uses: Obj[] }, ctx.componentOf(f.service)!, comp);
      if (!had) ctx.note(keys.service.name, `${f.file} dials ${f.service}:${f.port} -> uses ${ctx.componentOf(f.service)}`);
    } else if ((role === 'dropped' || role === 'prometheus') && imageBase(keys.config.image) !== 'prometheus') {
      // (A kept Prometheus's targets are reported by applyScrapes.)
      keys.warn('volumes', `${f.file} dials ${f.service}:${f.port}, which is not deployed here (${role === 'prometheus' ? 'the cluster\'s Prometheus takes its place: point it there' : droppedBecause(ctx.project.services[f.service])}); that connection will fail`);
    }
  }
}

/** `after` needs a check the waiting pod can run; alembic and Django migrations have one. */
function settleAfters(ctx: Context, afters: [Keys, string, string][]): void {
  for (const [keys, comp, job] of afters) {
    const j = ctx.components[job];
    const words: string[] = [...(j.command ?? []), ...(j.args ?? [])];
    const text = words.join(' ');
    // The spec's default check compares `alembic current` with `alembic heads`.
    if (/manage\.py\s+migrate/.test(text)) j.completionCheck ??= [...words, '--check'];
    else if (!/alembic\s+upgrade/.test(text)) {
      keys.warn(`depends_on.${origin(ctx, job)}`, `${job} runs "${text || 'its image command'}", whose completion cannot be checked from another pod; the order is not kept (add completionCheck to ${job} and after: [${job}] to ${comp})`);
      continue;
    }
    const c = ctx.components[comp];
    c.after = [...new Set([...(c.after ?? []), job])];
  }
}

/** Top-level volume and network options have no counterpart; say which were set. */
function topLevel(ctx: Context): void {
  for (const [name, v] of Object.entries<Obj>(ctx.project.volumes)) {
    for (const k of Object.keys(v)) {
      if (k === 'external' && v.external) ctx.warn('(project)', `volumes.${name}.external`, 'a new, empty claim is created; copy the data into it');
      else if (['driver', 'driver_opts', 'name'].includes(k)) ctx.warn('(project)', `volumes.${name}.${k}`, 'the storage class of the environment decides how volumes are made');
    }
  }
  for (const [name, n] of Object.entries<Obj>(ctx.project.networks)) {
    for (const k of Object.keys(n)) if (k !== 'labels') ctx.warn('(project)', `networks.${name}.${k}`, 'one flat network per namespace; NetworkPolicies replace network separation');
  }
}

/** A ReadWriteOnce volume mounted by several components keeps them on one node; say so for prod. */
function sharedVolumes(ctx: Context): void {
  for (const name of Object.keys(ctx.volumes)) {
    const users = Object.entries(ctx.components).filter(([, c]) => (c.volumes ?? []).some((v: Obj) => v.volume === name)).map(([n]) => n);
    if (users.length > 1) ctx.warn(origin(ctx, users[1]), 'volumes', `volume ${name} is shared by ${users.join(' and ')}: fine on one node (kind, k3d); for prod give it accessMode ReadWriteMany and a storage class that supports it`);
  }
}

/** Variables a relation derives are not also set by hand (the spec rejects that). */
function dropDerived(ctx: Context): void {
  for (const c of Object.values(ctx.components)) {
    for (const r of c.uses ?? []) {
      const t = ctx.components[r.to];
      if (!t || t.kind === 'stateful') continue;
      const url = r.env ?? (t.kind === 'postgres' ? 'DATABASE_URL' : t.kind === 'redis' ? 'REDIS_URL' : `${r.to.toUpperCase().replace(/-/g, '_')}_URL`);
      for (const v of [url, `${url.replace(/_URL$/, '')}_PASSWORD`]) {
        delete c.env?.[v];
        delete c.secretEnv?.[v];
      }
    }
    for (const k of ['env', 'secretEnv'] as const) if (c[k] && Object.keys(c[k]).length === 0) delete c[k];
  }
}

/** Development-profile services run in kind and k3d only; prod leaves them out. */
function localOnly(ctx: Context): Obj {
  const env: Obj = {};
  for (const s of Object.values(ctx.project.services)) {
    const comp = ctx.componentOf(s.name)!;
    const c = ctx.components[comp];
    const tool = devTool(s);
    if (!(s.localOnly || tool) || !c) continue;
    const why = s.localOnly ? `profile ${s.config.profiles.join(', ')}` : tool!;
    if (c.kind === 'pgadmin') {
      ctx.note(s.name, `${why}: runs in kind and k3d only (pgAdmin never runs in prod)`);
      continue;
    }
    let users = Object.entries(ctx.components).filter(([n, o]) => n !== comp && !ctx.project.services[origin(ctx, n)]?.localOnly && (JSON.stringify(o.uses ?? []).includes(`"to":"${comp}"`) || (o.after ?? []).includes(comp)));
    if (tool && c.kind === 'web' && users.every(([, o]) => !(o.after ?? []).includes(comp)) && applicationCode(ctx)) {
      // A mail catcher the app sends to: network mode stack admits the flow without a relation, so prod can
      // leave the tool out; the app keeps the host it names, which prod must point at a real server.
      for (const [n, o] of users) {
        const vars: string[] = [];
        for (const u of (o.uses ?? []).filter((x: Obj) => x.to === comp)) {
          if (u.env && keysOfService(ctx, n).includes(u.env)) {
            o.env = { ...o.env, [u.env]: `http://${comp}:${c.port}` };
            vars.push(u.env);
          }
        }
        o.uses = (o.uses ?? []).filter((x: Obj) => x.to !== comp);
        if (o.uses.length === 0) delete o.uses;
        ctx.warn(origin(ctx, n), 'environment', `reaches ${comp} (${tool}, kind and k3d only)${vars.length ? ` through ${vars.join(', ')}` : ''}: in prod, point its settings at a real server (environments.prod.components.${n}.env)`);
      }
      users = [];
    }
    if (users.length) {
      ctx.warn(s.name, 'profiles', `${users.map(([n]) => n).join(', ')} need it in every environment, so it runs in prod too`);
      continue;
    }
    env.prod ??= { components: {} };
    env.prod.components[comp] = { enabled: false };
    ctx.note(s.name, `${why}: runs in kind and k3d only`);
  }
  return env;
}

/** Whether the stack runs application code, whose connections the importer cannot all see (network mode stack). */
function applicationCode(ctx: Context): boolean {
  return Object.values(ctx.components).some((c) => ['web', 'worker', 'job'].includes(c.kind));
}

/** The environment variable names a compose service sets (environment and env files). */
function keysOfService(ctx: Context, comp: string): string[] {
  const s = ctx.project.services[origin(ctx, comp)];
  return [...Object.keys(s?.config.environment ?? {}), ...(s?.envFiles ?? []).flatMap((f) => Object.keys(f.vars))];
}

/** Fields in the order a reader looks for them: what it is, what runs, how it is reached, what it needs. */
const FIELD_ORDER = ['kind', 'role', 'mode', 'image', 'external', 'command', 'args', 'port', 'ports', 'extraPorts', 'healthPath', 'healthPort', 'metricsPath', 'probe', 'schedule', 'timeZone', 'replicas', 'route', 'routes', 'databases', 'password', 'env', 'envFrom', 'secretEnv', 'uses', 'after', 'volumes', 'data', 'files', 'secretFiles', 'writablePaths'];

function ordered(c: Obj): Obj {
  const rank = (k: string) => (FIELD_ORDER.includes(k) ? FIELD_ORDER.indexOf(k) : FIELD_ORDER.length);
  return Object.fromEntries(Object.entries(c).sort(([a], [b]) => rank(a) - rank(b)));
}

function origin(ctx: Context, comp: string): string {
  return [...ctx.names].find(([, v]) => v === comp)?.[0] ?? comp;
}

function summarize(ctx: Context, s: ComposeService): void {
  const comp = ctx.componentOf(s.name)!;
  const c = ctx.components[comp];
  const role = ctx.roles.get(s.name)!;
  const what: Record<string, string> = {
    postgres: 'postgres (StatefulSet, claim template, Secrets, pg_isready probes)',
    redis: 'redis (StatefulSet, claim template)',
    stateful: 'stateful (StatefulSet, claim templates, Services)',
    pgadmin: 'pgadmin (local environments only)',
    web: `web (Deployment + Service on ${c?.port}${c?.route || c?.routes ? `, routed at ${(c.routes ?? [c.route]).map((r: Obj) => `${r.subdomain ? `${r.subdomain}.<host>` : ''}${r.path}`).join(', ')}` : ', internal'})`,
    worker: 'continuous worker (Deployment)',
    scheduled: `scheduled worker (CronJob "${c?.schedule}")`,
    job: 'job (Job)',
  };
  const head = c ? `component ${comp}: ${what[role]}` : role === 'edge' ? 'the edge' : role === 'dropped' ? `not deployed: ${droppedBecause(s)}` : 'monitoring';
  ctx.summary.set(s.name, [head, ...(ctx.summary.get(s.name) ?? [])]);
}
