/**
 * The import summary's view of the whole stack: the route table (host, path, component) and the
 * flows NetworkPolicies admit, read from the validated spec, so it says what will be applied.
 */
import type { StackSpec } from '../../model/schema';
import { endpointOf, isExternal, portsOfComponent, usesOf } from '../../model/relations';

export function routeTable(spec: StackSpec): string[] {
  const rows: [string, string, string][] = [];
  for (const [name, c] of Object.entries(spec.components)) {
    if (c.kind !== 'web' || (c.route === false && !c.routes)) continue;
    for (const r of c.routes ?? [c.route || {}]) rows.push([r.subdomain ? `${r.subdomain}.<host>` : '<host>', r.path ?? (c.role === 'dashboard' ? '/' : '/api'), `${name}:${c.port}`]);
  }
  if (rows.length === 0) return ['public routes: none'];
  const w = [0, 1].map((i) => Math.max(...rows.map((r) => r[i].length)));
  return ['public routes (host, path, component:port):', ...rows.map((r) => `${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`)];
}

export function flowTable(spec: StackSpec): string[] {
  const lines: string[] = [];
  for (const [name, c] of Object.entries(spec.components)) {
    for (const r of usesOf(c)) {
      const t = spec.components[r.to];
      lines.push(`${name} -> ${r.to}${t && isExternal(t) ? ` (external ${t.external.host}:${endpointOf(spec, r.to).port})` : `:${portsOfComponent(spec, r.to).join(',')}`}`);
    }
    if ('egress' in c) for (const e of c.egress ?? []) lines.push(`${name} -> outside ${e.cidr}:${e.ports.join(',')}`);
  }
  for (const [name, c] of Object.entries(spec.components)) if (c.kind === 'web' && (c.routes || c.route !== false)) lines.push(`edge -> ${name}:${c.port}`);
  if (spec.network?.mode === 'stack') lines.push('network mode stack: also every pod to every Service port of the stack (set network.mode: declared to admit only the flows above)');
  return ['flows NetworkPolicies admit (besides DNS):', ...(lines.length ? lines : ['none'])];
}
