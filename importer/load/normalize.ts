/**
 * Short and long compose syntax brought to one canonical form per key, so files can be merged
 * and the translator reads one shape: maps for environment, labels and depends_on; lists of
 * objects for ports, volumes, secrets, configs and env files; word lists for commands.
 */
import { isAbsolute, posix, resolve } from 'node:path';

export type Bad = (path: (string | number)[], message: string) => never;
type Obj = Record<string, any>;

export interface Port {
  target: number;
  published?: string;
  protocol: string;
  host_ip?: string;
}
export interface Mount {
  type: string;
  /** Named volume, or for a bind mount the absolute host path. */
  source?: string;
  /** The source as written, for messages. */
  written?: string;
  target: string;
  read_only: boolean;
}

/** Splits a command string into words the way compose does (shell quoting, no shell). */
export function shellSplit(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word += text.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? text.length : end;
      inWord = true;
    } else if (c === '"') {
      i++;
      for (; i < text.length && text[i] !== '"'; i++) word += text[i] === '\\' && /["\\$`]/.test(text[i + 1] ?? '') ? text[++i] : text[i];
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

const str = (v: unknown) => (v === null || v === undefined ? v : String(v));

function keyValues(v: unknown, path: (string | number)[], bad: Bad, nullable: boolean): Obj {
  if (Array.isArray(v)) {
    const out: Obj = {};
    v.forEach((item, i) => {
      const s = String(item);
      const eq = s.indexOf('=');
      if (eq === 0) bad([...path, i], `"${s}" has no name before "="`);
      if (eq < 0) out[s] = nullable ? null : '';
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    });
    return out;
  }
  const out: Obj = {};
  for (const [k, val] of Object.entries((v as Obj) ?? {})) out[k] = val === null ? (nullable ? null : '') : str(val);
  return out;
}

export function parsePort(spec: unknown, path: (string | number)[], bad: Bad): Port[] {
  if (typeof spec === 'object' && spec !== null) {
    const o = spec as Obj;
    const target = Number(o.target);
    if (!Number.isInteger(target) || target < 1 || target > 65535) bad([...path, 'target'], `must be a port number, got ${JSON.stringify(o.target)}`);
    return [{ target, published: str(o.published) as string | undefined, protocol: o.protocol ?? 'tcp', host_ip: o.host_ip }];
  }
  const text = String(spec);
  // An empty host IP (":8080:80", or "${BIND:-}:8080:80" with BIND unset) means every interface, as in compose.
  const m = /^(?:(?:\[?([0-9a-fA-F.:]*?)\]?:)?([0-9]*(?:-[0-9]+)?):)?([0-9]+(?:-[0-9]+)?)(?:\/(tcp|udp|sctp))?$/.exec(text);
  if (!m) bad(path, `cannot read port "${text}" (expected [HOST:]CONTAINER[/PROTOCOL], e.g. "8080:8000")`);
  const [, hostIp, published, target, protocol] = m;
  const [lo, hi] = target.split('-').map(Number);
  const out: Port[] = [];
  for (let p = lo; p <= (hi ?? lo); p++) {
    if (p < 1 || p > 65535) bad(path, `port ${p} is out of range`);
    out.push({ target: p, published: published || undefined, protocol: protocol ?? 'tcp', host_ip: hostIp || undefined });
  }
  return out;
}

export function parseMount(spec: unknown, dir: string, path: (string | number)[], bad: Bad): Mount {
  if (typeof spec === 'object' && spec !== null) {
    const o = spec as Obj;
    const type = String(o.type);
    const source = type === 'bind' && o.source ? resolve(dir, String(o.source)) : str(o.source) ?? undefined;
    return { type, source: source as string | undefined, written: str(o.source) as string | undefined, target: cleanTarget(String(o.target)), read_only: Boolean(o.read_only) };
  }
  const text = String(spec);
  const parts = text.split(':');
  // A Windows drive letter would add a colon; compose files for Linux containers rarely have one.
  if (parts.length === 1) return { type: 'volume', target: cleanTarget(parts[0]), read_only: false };
  if (parts.length > 3 || !parts[1]) bad(path, `cannot read volume "${text}" (expected SOURCE:TARGET[:MODE])`);
  const [src, target, mode = ''] = parts;
  const bind = src.startsWith('.') || src.startsWith('/') || src.startsWith('~') || isAbsolute(src);
  const source = bind ? resolve(dir, src.replace(/^~/, process.env.HOME ?? '~')) : src;
  return { type: bind ? 'bind' : 'volume', source, written: src, target: cleanTarget(target), read_only: mode.split(',').includes('ro') };
}

/** A container path as Docker uses it: "/etc/prometheus/" and "/etc//prometheus" are "/etc/prometheus". */
function cleanTarget(target: string): string {
  return target.startsWith('/') ? posix.normalize(target).replace(/(.)\/$/, '$1') : target;
}

/** Brings one service (or job) mapping to canonical form; `dir` resolves relative paths. */
export function normalizeService(raw: Obj, dir: string, path: (string | number)[], bad: Bad): Obj {
  const s: Obj = { ...raw };
  if ('environment' in s) s.environment = keyValues(s.environment, [...path, 'environment'], bad, true);
  if ('labels' in s) s.labels = keyValues(s.labels, [...path, 'labels'], bad, false);
  if (s.deploy?.labels) s.deploy = { ...s.deploy, labels: keyValues(s.deploy.labels, [...path, 'deploy', 'labels'], bad, false) };
  if ('annotations' in s) s.annotations = keyValues(s.annotations, [...path, 'annotations'], bad, false);
  for (const k of ['command', 'entrypoint'] as const) {
    if (typeof s[k] === 'string') s[k] = shellSplit(s[k]);
    else if (Array.isArray(s[k])) s[k] = s[k].map(String);
  }
  if ('env_file' in s) {
    const list = Array.isArray(s.env_file) ? s.env_file : [s.env_file];
    s.env_file = list.map((e: unknown) => (typeof e === 'string' ? { path: resolve(dir, e), written: e, required: true } : { ...(e as Obj), path: resolve(dir, String((e as Obj).path)), written: (e as Obj).path, required: (e as Obj).required !== false && (e as Obj).required !== 'false' }));
  }
  if (Array.isArray(s.depends_on)) s.depends_on = Object.fromEntries(s.depends_on.map((d: string) => [d, { condition: 'service_started', required: true }]));
  else if (s.depends_on) s.depends_on = Object.fromEntries(Object.entries(s.depends_on as Obj).map(([k, v]) => [k, { condition: 'service_started', required: true, ...(v as Obj) }]));
  if ('ports' in s) s.ports = (s.ports as unknown[]).flatMap((p, i) => parsePort(p, [...path, 'ports', i], bad));
  if ('expose' in s) s.expose = (s.expose as unknown[]).map(String);
  if ('volumes' in s) s.volumes = (s.volumes as unknown[]).map((v, i) => parseMount(v, dir, [...path, 'volumes', i], bad));
  if (typeof s.tmpfs === 'string') s.tmpfs = [s.tmpfs];
  for (const k of ['secrets', 'configs'] as const) if (Array.isArray(s[k])) s[k] = s[k].map((x: unknown) => (typeof x === 'string' ? { source: x } : x));
  if (typeof s.extends === 'string') s.extends = { service: s.extends };
  if (Array.isArray(s.networks)) s.networks = Object.fromEntries(s.networks.map((n: string) => [n, null]));
  if (s.healthcheck && typeof s.healthcheck.test === 'string') s.healthcheck = { ...s.healthcheck, test: s.healthcheck.test === 'NONE' ? ['NONE'] : ['CMD-SHELL', s.healthcheck.test] };
  return s;
}

/** Merges a later definition of a service over an earlier one, by compose's override rules. */
export function mergeService(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  // `!override` keys replace what the base has; the marker itself goes once merging is done.
  const replaced = new Set<string>(over['\u0003override'] ?? []);
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (replaced.has(k) || k === '\u0003override') {
      out[k] = k === '\u0003override' ? [...new Set([...(b ?? []), ...v])] : v;
      continue;
    }
    if (v === '\u0003reset') {
      // `!reset`: drop what the base had; the marker stays until the last merge removes it.
      out[k] = v;
      continue;
    }
    if (b === undefined || b === '\u0003reset' || v === null || ['command', 'entrypoint', 'image', 'build'].includes(k)) out[k] = v;
    else if (k === 'volumes') out[k] = byKey(b, v, (m: Mount) => m.target);
    else if (k === 'secrets' || k === 'configs') out[k] = byKey(b, v, (x: Obj) => x.source);
    else if (k === 'ports' || Array.isArray(b)) out[k] = byKey(b, v, (x: unknown) => JSON.stringify(x));
    else if (k === 'healthcheck' && v.test) out[k] = { ...b, ...v };
    else if (typeof b === 'object' && typeof v === 'object' && !Array.isArray(v)) out[k] = deepMerge(b, v);
    else out[k] = v;
  }
  return out;
}

function byKey<T>(a: T[], b: T[], key: (x: T) => string): T[] {
  const m = new Map<string, T>();
  for (const x of [...a, ...b]) m.set(key(x), x);
  return [...m.values()];
}

function deepMerge(a: Obj, b: Obj): Obj {
  const out: Obj = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && out[k] && typeof out[k] === 'object' && !Array.isArray(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out;
}
