/**
 * Copies of one service that an nginx proxy balances over (`upstream { server node1:8080;
 * server node2:8080; }`, each copy written out as its own compose service) are, in Kubernetes, one
 * Deployment with that many replicas behind one Service. Only exact copies (the same configuration
 * but for their names) that nothing else dials by name are merged.
 */
import type { ComposeService } from '../load/model';
import { dialersOf, nginxConfigText } from './classify';
import type { Context } from './context';
import { readNginx } from './nginx';

/** What makes two services the same workload: everything but their names. */
function sameness(s: ComposeService): string {
  const { container_name: _n, hostname: _h, ...config } = s.config;
  return JSON.stringify([config, s.envFiles.map((f) => f.vars), s.localOnly]);
}

/** Each merged copy, with the service that stands for the group and the proxy balancing over it. */
export function balancedCopies(ctx: Context): Map<string, { first: string; proxy: string; count: number }> {
  const out = new Map<string, { first: string; proxy: string; count: number }>();
  const edges = Object.values(ctx.project.services).filter((s) => ctx.roles.get(s.name) === 'edge');
  for (const proxy of edges) {
    const text = nginxConfigText(ctx.project.folder, proxy);
    if (!text) continue;
    for (const hosts of readNginx(text).balanced) {
      const group = [...new Set(hosts.map((h) => ctx.serviceByHost(h)).filter((s): s is ComposeService => s !== undefined))];
      if (group.length < 2 || group.some((s) => out.has(s.name) || ctx.roles.get(s.name) !== 'web')) continue;
      if (new Set(group.map(sameness)).size !== 1) continue;
      // A copy another service reaches by its own name must keep that name.
      const named = group.slice(1).some((s) => dialersOf(ctx, s).some((d) => ctx.roles.get(d) !== 'edge'));
      if (named) continue;
      for (const s of group.slice(1)) out.set(s.name, { first: group[0].name, proxy: proxy.name, count: group.length });
    }
  }
  return out;
}
