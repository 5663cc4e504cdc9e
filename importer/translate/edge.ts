/**
 * A TLS proxy service (nginx or Traefik) becomes the stack's edge instead of a Deployment: its
 * routes become the `route` of the web components they reach, its server names the public host,
 * its rate limit the edge's. Without a proxy, web services that compose publishes on the host are
 * routed on subdomains of their own, the rest stay internal.
 */
import { baseOf, nginxConfigText, virtualHostOf } from './classify';
import { kebab, type Context, type Keys } from './context';
import { readNginx } from './nginx';
import { traefikRoutes } from './traefik';
import { outsideMount } from './volumes';
import type { Mount } from '../load/normalize';

type Obj = Record<string, any>;

/** `api.localhost`, `localhost`, `*.localtest.me`, `*.docker.localhost`: the first labels are the subdomain. */
const LOCAL_DOMAIN = /^(?:(.+?)\.)?(?:docker\.)?(?:localhost|localtest\.me)$/;

/** A route found in the proxy configuration, by compose service. */
interface Found {
  service: string;
  path: string;
  host?: string;
  from: string;
}

const found: WeakMap<Context, Found[]> = new WeakMap();
const record = (ctx: Context, f: Found) => found.set(ctx, [...(found.get(ctx) ?? []), f]);

export function translateProxy(ctx: Context, keys: Keys): void {
  // A proxy built from a local Dockerfile is judged by the image it starts FROM.
  const base = baseOf(ctx.project.folder, keys.service);
  keys.take('image');
  ctx.edge ??= {};
  if (base === 'nginx-proxy') {
    keys.take('volumes');
    ctx.note(keys.service.name, 'nginx-proxy writes its configuration from the VIRTUAL_HOST of the other services; those become their routes');
  } else if (base === 'traefik') {
    const flags = (keys.take<string[]>('command') ?? []).join(' ');
    const email = /--certificatesresolvers\.[^.]+\.acme\.email=(\S+)/.exec(flags)?.[1];
    if (email) ctx.edge.tls = { ...ctx.edge.tls, email };
    keys.take('volumes');
    ctx.note(keys.service.name, "Traefik's static configuration is replaced by the cluster's controller; routes come from the Traefik labels");
  } else {
    const outside = (keys.config.volumes ?? []).filter((m: Mount) => String(m.target).startsWith('/etc/nginx') && outsideMount(ctx, keys, m));
    const text = nginxConfigText(ctx.project.folder, keys.service);
    keys.take('volumes');
    keys.take('configs');
    if (!text) {
      if (outside.length === 0) keys.warn('volumes', 'the nginx configuration is not readable here; no routes were derived: set route on the web components');
    } else {
      const nginx = readNginx(text);
      if (nginx.rateLimit) ctx.edge.rateLimit = nginx.rateLimit;
      for (const note of nginx.notes) keys.warn('volumes', note);
      for (const r of nginx.routes) {
        record(ctx, { service: r.host, path: r.path, host: r.serverName, from: keys.service.name });
        if (r.strips) keys.warn('volumes', `nginx strips ${r.path} before passing requests to ${r.host}; the edge passes the prefix on: serve under ${r.path} (e.g. FastAPI root_path) or route ${r.host} on a subdomain`);
      }
      for (const n of nginx.serverNames) record(ctx, { service: '', path: '', host: n, from: keys.service.name });
      if (!nginx.tls) ctx.note(keys.service.name, 'served plain HTTP in compose; the edge serves HTTPS and redirects HTTP');
      else ctx.note(keys.service.name, 'TLS certificates come from cert-manager (local CA on kind and k3d, ACME in prod); the mounted ones are not used');
    }
  }
  for (const k of ['ports', 'expose', 'depends_on', 'healthcheck', 'environment', 'secrets', 'command', 'entrypoint', 'restart', 'networks', 'labels', 'env_file', 'build']) keys.take(k);
  ctx.note(keys.service.name, 'becomes the edge (Gateway API or Ingress with cert-manager TLS), not a Deployment');
}

/** Routes from the Traefik labels of an application service. */
export function traefikLabels(ctx: Context, keys: Keys): Set<string> {
  const t = traefikRoutes(keys.config.labels ?? {});
  for (const n of t.notes) keys.warn('labels', n);
  if (t.rateLimit) ctx.edge = { ...ctx.edge, rateLimit: t.rateLimit };
  for (const r of t.routes) {
    record(ctx, { service: keys.service.name, path: r.path, host: r.host, from: `labels of ${keys.service.name}` });
    if (r.strips) keys.warn(`labels.traefik.http.routers.${r.router}.middlewares`, `strips ${r.path}; the edge passes the prefix on: serve under ${r.path} or use a subdomain`);
  }
  return t.used;
}

/** Routes for nginx-proxy: each service's VIRTUAL_HOST (the stack's host when empty) and VIRTUAL_PATH. */
export function virtualHostRoutes(ctx: Context): void {
  for (const s of Object.values(ctx.project.services)) {
    const v = virtualHostOf(s);
    if (!v || ctx.roles.get(s.name) === 'edge') continue;
    const hosts = v.hosts.length ? v.hosts : [undefined];
    for (const host of hosts) record(ctx, { service: s.name, path: v.path, host, from: `environment of ${s.name}` });
  }
}

/** Gives every web component its route (or `route: false`) and sets the public host for prod. */
export function assignRoutes(ctx: Context): void {
  // Kompose's expose label names the public host (and path) of a service when there is no proxy.
  const exposed = new Map<string, { host?: string; path: string }>();
  for (const s of Object.values(ctx.project.services)) {
    const value = s.config.labels?.['kompose.service.expose'];
    if (!value || value === 'false') continue;
    const first = String(value).split(',')[0].trim();
    const m = /^([a-z0-9.-]+\.[a-z]{2,})(\/[^\s]*)?$/i.exec(first);
    exposed.set(s.name, m ? { host: m[1].toLowerCase(), path: m[2] ? m[2].replace(/\/+$/, '') || '/' : '/' } : { path: '/' });
    if (m) record(ctx, { service: '', path: '', host: m[1].toLowerCase(), from: s.name });
    if (s.config.labels?.['kompose.service.expose.tls-secret']) ctx.warn(s.name, 'labels.kompose.service.expose.tls-secret', 'cert-manager issues the certificate; no Secret to bring');
  }
  const routes = (found.get(ctx) ?? []).filter((f) => f.service);
  const hosts = (found.get(ctx) ?? []).map((f) => f.host).filter((h): h is string => !!h && /^([a-z0-9-]+\.)+[a-z]{2,}$/.test(h) && !/(^|\.)localhost$|localtest\.me$/.test(h));
  const main = ctx.options.prodHost ?? shortest(hosts);
  const web = Object.entries(ctx.components).filter(([, c]) => c.kind === 'web');
  const taken = new Map<string, string>();
  if (ctx.edge) {
    for (const r of routes) {
      const svc = ctx.serviceByHost(r.service);
      const comp = svc && ctx.componentOf(svc.name);
      const c = comp ? ctx.components[comp] : undefined;
      if (!c || c.kind !== 'web') {
        ctx.warn(r.from, 'routes', `a route to ${r.service}${r.path} reaches no web component (${c ? c.kind : 'not a service'}); left out`);
        continue;
      }
      // Hosts under a local development domain (api.localhost) keep their first labels as the subdomain.
      const local = r.host && LOCAL_DOMAIN.exec(r.host);
      const subdomain = r.host && main && r.host !== main && r.host.endsWith(`.${main}`) ? r.host.slice(0, -main.length - 1) : local && local[1] ? local[1] : undefined;
      if (r.host && main && r.host !== main && !subdomain && !local) ctx.warn(r.from, 'routes', `host ${r.host} is not ${main} or a subdomain of it; ${comp} is routed on ${main}`);
      const route = { path: r.path, ...(subdomain && kebab(subdomain) === subdomain ? { subdomain } : {}) };
      const key = `${route.subdomain ?? ''}/${r.path}`;
      if (taken.get(key) === comp) continue;
      if (taken.has(key)) {
        ctx.warn(r.from, 'routes', `${r.path} is already routed to ${taken.get(key)}; left out for ${comp}`);
        continue;
      }
      taken.set(key, comp!);
      // A component reached on several paths or hosts keeps all of them.
      if (c.route || c.routes) {
        c.routes = [...(c.routes ?? [c.route]), route];
        delete c.route;
      } else c.route = route;
    }
    for (const [, c] of web) if (!c.routes) c.route ??= false;
  } else {
    // Ports published on the loopback address only are for the developer's own machine.
    const published = web.filter(([name]) => (ctx.project.services[[...ctx.names].find(([, v]) => v === name)![0]].config.ports ?? []).some((p: Obj) => p.published && !/^(127\.|::1|localhost)/.test(p.host_ip ?? '')));
    for (const [name, c] of web) {
      const service = [...ctx.names].find(([, v]) => v === name)![0];
      const expose = exposed.get(service);
      if (expose?.host && main) {
        const sub = expose.host === main ? undefined : expose.host.endsWith(`.${main}`) ? expose.host.slice(0, -main.length - 1) : name;
        c.route = { path: expose.path, ...(sub ? { subdomain: sub } : {}) };
      } else if (expose) c.route = { path: expose.path, subdomain: name };
      else if (published.some(([n]) => n === name)) c.route = published.length === 1 && exposed.size === 0 ? { path: '/' } : { path: '/', subdomain: name };
      else c.route = false;
    }
  }
  if (!web.some(([, c]) => c.route !== false)) return;
  const prod: Obj = {};
  if (main) prod.host = main;
  if (ctx.options.prodClass) prod.className = ctx.options.prodClass;
  if (!prod.host || !prod.className) {
    ctx.warn('(project)', 'prod', `the prod environment needs ${[!prod.host && 'the public host name', !prod.className && 'the GatewayClass'].filter(Boolean).join(' and ')}: import again with --prod-host/--prod-class or set environments.prod.edge; until then synthesize with --env kind,k3d`);
  }
  if (prod.className && !['eg', 'traefik', 'cloud-provider-kind'].includes(prod.className)) {
    ctx.warn('(project)', 'prod', `the spec does not know where the ${prod.className} proxy connects from: set environments.prod.edge.allowFrom (its namespace and pod labels) before synthesizing prod`);
  }
  ctx.prodEdge = prod;
}

function shortest(hosts: string[]): string | undefined {
  return [...new Set(hosts)].sort((a, b) => a.split('.').length - b.split('.').length || a.localeCompare(b))[0];
}
