/** Traefik's docker-provider labels and command flags, read for routes, TLS e-mail and rate limits. */

export interface TraefikRoute {
  readonly router: string;
  readonly host?: string;
  readonly path: string;
  readonly port?: number;
  readonly strips: boolean;
}

/** `Host(`a.example.com`) && PathPrefix(`/api`)` -> host and path. */
export function parseRule(rule: string): { host?: string; path: string; other: boolean } {
  const host = /Host\(\s*[`"']([^`"']+)[`"']/.exec(rule)?.[1];
  const path = /PathPrefix\(\s*[`"']([^`"']+)[`"']/.exec(rule)?.[1] ?? /Path\(\s*[`"']([^`"']+)[`"']/.exec(rule)?.[1] ?? '/';
  const other = /\|\||HostRegexp|Header|Query|Method|ClientIP/.test(rule);
  return { host, path: path.length > 1 ? path.replace(/\/+$/, '') : '/', other };
}

/** The routes a service's Traefik labels declare, and the labels they used. */
export function traefikRoutes(labels: Record<string, string>): { routes: TraefikRoute[]; used: Set<string>; notes: string[]; rateLimit?: { average: number; burst: number } } {
  const used = new Set<string>();
  const notes: string[] = [];
  const routes: TraefikRoute[] = [];
  let port: number | undefined;
  let rateLimit: { average: number; burst: number } | undefined;
  const stripped = new Set<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (!k.startsWith('traefik.')) continue;
    used.add(k);
    const lb = /^traefik\.http\.services\.[^.]+\.loadbalancer\.server\.port$/.exec(k);
    if (lb) port = Number(v);
    const mw = /^traefik\.http\.middlewares\.([^.]+)\.(\w+)\.(\w+)$/.exec(k);
    if (mw?.[2] === 'ratelimit') rateLimit = { average: rateLimit?.average ?? 10, burst: rateLimit?.burst ?? 20, [mw[3]]: Number(v) } as never;
    else if (mw?.[2] === 'stripprefix') stripped.add(mw[1]);
    else if (mw) notes.push(`${k}: middleware ${mw[2]} is not translated`);
  }
  for (const [k, v] of Object.entries(labels)) {
    const r = /^traefik\.http\.routers\.([^.]+)\.rule$/.exec(k);
    if (!r) continue;
    const rule = parseRule(v);
    if (rule.other) notes.push(`${k}: only Host and PathPrefix of "${v}" are translated`);
    const mws = (labels[`traefik.http.routers.${r[1]}.middlewares`] ?? '').split(',').map((s) => s.trim().split('@')[0]);
    routes.push({ router: r[1], host: rule.host, path: rule.path, port, strips: mws.some((m) => stripped.has(m)) });
  }
  return { routes, used, notes, rateLimit };
}
