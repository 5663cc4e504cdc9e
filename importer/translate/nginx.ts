/**
 * Reads what matters of an nginx reverse-proxy configuration: TLS, server names, which location
 * goes to which compose service, and the request rate limit. Everything else nginx does (redirects,
 * gzip, headers, blocking /metrics) the edge construct does by itself.
 */

export interface Directive {
  readonly name: string;
  readonly args: string[];
  readonly block?: Directive[];
}

/** nginx configuration syntax as a tree of directives. */
export function parseNginx(text: string): Directive[] {
  const tokens = text.replace(/#[^\n]*/g, '').match(/"[^"]*"|'[^']*'|[{};]|[^\s{};]+/g) ?? [];
  let i = 0;
  const block = (): Directive[] => {
    const out: Directive[] = [];
    let words: string[] = [];
    while (i < tokens.length) {
      const t = tokens[i++];
      if (t === ';') {
        if (words.length) out.push({ name: words[0], args: words.slice(1) });
        words = [];
      } else if (t === '{') {
        out.push({ name: words[0] ?? '', args: words.slice(1), block: block() });
        words = [];
      } else if (t === '}') return out;
      else words.push(t.replace(/^["']|["']$/g, ''));
    }
    return out;
  };
  return block();
}

export interface ProxyRoute {
  readonly host: string;
  readonly path: string;
  readonly port?: number;
  readonly serverName?: string;
  /** nginx removes the location prefix before passing the request on. */
  readonly strips: boolean;
}

export interface NginxProxy {
  readonly tls: boolean;
  readonly serverNames: string[];
  readonly routes: ProxyRoute[];
  readonly rateLimit?: { average: number; burst: number };
  /** Locations that do not reach a compose service, and other things not carried over. */
  readonly notes: string[];
  /** The hosts of each upstream that balances over several servers. */
  readonly balanced: string[][];
}

const all = (ds: Directive[], name: string): Directive[] => ds.flatMap((d) => [...(d.name === name ? [d] : []), ...(d.block ? all(d.block, name) : [])]);

export function readNginx(text: string): NginxProxy {
  const tree = parseNginx(text);
  const upstreams = new Map<string, { host: string; port?: number }>();
  const balanced: string[][] = [];
  for (const u of all(tree, 'upstream')) {
    const hosts = [...new Set((u.block ?? []).filter((d) => d.name === 'server' && d.args[0]).map((d) => d.args[0].split(':')[0]))];
    if (hosts.length > 1) balanced.push(hosts);
    const server = u.block?.find((d) => d.name === 'server');
    if (server) {
      const [host, port] = server.args[0].split(':');
      upstreams.set(u.args[0], { host, port: port ? Number(port) : undefined });
    }
  }
  const notes: string[] = [];
  const routes: ProxyRoute[] = [];
  const serverNames: string[] = [];
  let tls = false;
  for (const server of all(tree, 'server').filter((s) => s.block)) {
    const ds = server.block!;
    const secure = ds.some((d) => (d.name === 'listen' && d.args.some((a) => a === 'ssl' || a.endsWith('443'))) || d.name === 'ssl_certificate');
    tls ||= secure;
    const names = ds.filter((d) => d.name === 'server_name').flatMap((d) => d.args).filter((n) => n !== '_' && n !== 'localhost');
    serverNames.push(...names.filter((n) => !serverNames.includes(n)));
    for (const loc of ds.filter((d) => d.name === 'location' && d.block)) {
      const path = loc.args[loc.args.length - 1];
      const pass = loc.block!.find((d) => d.name === 'proxy_pass');
      if (!pass) {
        if (!loc.block!.some((d) => d.name === 'deny' || d.name === 'return')) notes.push(`location ${path} serves no compose service; not translated`);
        continue;
      }
      if (loc.args.length > 1 && loc.args[0] !== '=' && loc.args[0] !== '^~') {
        notes.push(`regular-expression location ${loc.args.join(' ')} is not translated`);
        continue;
      }
      const m = /^https?:\/\/([^/:$]+)(?::(\d+))?(\/.*)?$/.exec(pass.args[0]);
      if (!m) {
        notes.push(`proxy_pass ${pass.args[0]} in location ${path} is not translated`);
        continue;
      }
      const up = upstreams.get(m[1]);
      const host = up?.host ?? m[1];
      routes.push({ host, path: path.length > 1 ? path.replace(/\/+$/, '') : '/', port: m[2] ? Number(m[2]) : up?.port, serverName: names[0], strips: m[3] !== undefined && path !== '/' });
    }
  }
  // What the edge does by itself (TLS, redirects, compression, forwarding headers, logging).
  const covered = /^(events|http|server|location|upstream|listen|server_name|ssl_.*|proxy_pass|proxy_set_header|proxy_http_version|proxy_redirect|limit_req(_zone)?|return|deny|allow|gzip.*|include|access_log|error_log|worker_.*|keepalive_timeout|sendfile|tcp_no.*|default_type|types|resolver|add_header|http2|charset|server_tokens|user|pid|root|index|try_files|error_page)$/;
  const seen = new Set<string>();
  const walk = (ds: Directive[]) => {
    for (const d of ds) {
      if (!covered.test(d.name) && !seen.has(d.name)) {
        seen.add(d.name);
        notes.push(`nginx directive ${d.name} is not translated`);
      }
      if (d.block && d.name !== 'upstream' && d.name !== 'types') walk(d.block);
    }
  };
  walk(tree);
  let rateLimit: NginxProxy['rateLimit'];
  const zone = all(tree, 'limit_req_zone')[0];
  const req = all(tree, 'limit_req')[0];
  const rate = zone?.args.map((a) => /^rate=(\d+)r\/s$/.exec(a)).find(Boolean);
  if (rate) rateLimit = { average: Number(rate[1]), burst: Number(req?.args.map((a) => /^burst=(\d+)$/.exec(a)).find(Boolean)?.[1] ?? rate[1]) };
  return { tls, serverNames, routes, rateLimit, notes, balanced };
}
