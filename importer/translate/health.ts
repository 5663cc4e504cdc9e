/**
 * Compose healthchecks (and Kompose's healthcheck labels) as the spec's probe settings. A
 * healthcheck feeds readiness and liveness alike; `start_period` becomes the startup allowance;
 * `CMD-SHELL` runs through `sh -c`; a curl, wget or Python urllib check against localhost becomes an
 * HTTP GET, which needs no tool in the image.
 */
import type { Context, Keys } from './context';
import { expandSecrets } from './env';

type Obj = Record<string, any>;

export interface Health {
  /** An HTTP check on localhost: path and port. */
  readonly http?: { path: string; port?: number };
  /** The spec's `probe` (timings, command, tcpPort, or false). */
  readonly probe?: Obj | false;
  /** The check as a command, also when it is an HTTP check (for images probed by command only). */
  readonly command?: string[];
}

/** Compose durations ("1m30s", "500ms", "10s") in whole seconds, at least 1. */
export function seconds(d: unknown): number | undefined {
  if (d === undefined || d === null) return undefined;
  if (typeof d === 'number') return Math.max(1, Math.ceil(d));
  let total = 0;
  const re = /([0-9.]+)(h|ms|m|s|us|ns)/g;
  let m: RegExpExecArray | null;
  let matched = '';
  while ((m = re.exec(String(d)))) {
    total += Number(m[1]) * { h: 3600, m: 60, s: 1, ms: 0.001, us: 1e-6, ns: 1e-9 }[m[2] as 'h']!;
    matched += m[0];
  }
  if (matched !== String(d)) return undefined;
  return Math.max(1, Math.ceil(total));
}

const LOCAL_URL = /\bhttps?:\/\/(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?(\/[^\s'"`)]*)?/;

/** An HTTP check hidden in a healthcheck command, if that is all the command does. */
export function httpCheck(words: string[]): { path: string; port?: number } | undefined {
  const text = words.join(' ').replace(/\s*\|\|\s*exit 1\s*$/, '');
  const url = LOCAL_URL.exec(text);
  const tool = /^(sh -c )?(curl|wget|python3?)\b/.exec(text);
  if (!url || !tool) return undefined;
  // A Python one-liner may use ";" between statements; a shell command with more in it is not just a GET.
  if (/python/.test(tool[0]) ? !/urlopen|requests\.get|httpx\.get/.test(text) || /(;|\bif\b)[^;]*(;|\bif\b)/.test(text.replace(/^[^;]*;/, '')) : /[;&|]|\$\(/.test(text.replace(url[0], ''))) return undefined;
  return { path: url[2] ?? '/', port: url[1] ? Number(url[1]) : 80 };
}

export function translateHealth(ctx: Context, keys: Keys, secretEnv: Record<string, string>): Health | undefined {
  const hc = keys.take<Obj>('healthcheck');
  const labels: Obj = keys.config.labels ?? {};
  const label = (k: string) => labels[`kompose.service.healthcheck.readiness.${k}`] ?? labels[`kompose.service.healthcheck.liveness.${k}`];
  const timing = (src: Obj | undefined): Obj => {
    const t: Obj = {};
    const interval = seconds(src?.interval);
    if (interval) t.periodSeconds = interval;
    const timeout = seconds(src?.timeout);
    if (timeout) t.timeoutSeconds = timeout;
    if (src?.retries !== undefined) t.failureThreshold = Math.max(1, Number(src.retries));
    const start = seconds(src?.start_period);
    if (start) t.startupSeconds = Math.max(5, start);
    return t;
  };
  if (label('disable') === 'true') return { probe: false };
  const labelPath = label('http_get_path');
  if (labelPath) return { http: { path: labelPath, port: label('http_get_port') ? Number(label('http_get_port')) : undefined }, probe: timing({ interval: label('interval'), timeout: label('timeout'), retries: label('retries'), start_period: label('start_period') }) };
  if (label('tcp_port')) return { probe: { tcpPort: Number(label('tcp_port')), ...timing({ interval: label('interval'), timeout: label('timeout'), retries: label('retries'), start_period: label('start_period') }) } };
  if (label('test')) return { probe: { command: ['sh', '-c', expandSecrets(ctx, label('test'), secretEnv, 'a healthcheck label', true)] } };
  if (!hc) return undefined;
  if (hc.start_interval !== undefined) keys.warn('healthcheck.start_interval', 'startup checks run every 5 s');
  if (hc.disable === true || hc.disable === 'true' || hc.test?.[0] === 'NONE') return { probe: false };
  if (!hc.test) return { probe: timing(hc) };
  const [form, ...rest] = hc.test as string[];
  if (form !== 'CMD' && form !== 'CMD-SHELL') keys.warn('healthcheck.test', `starts with "${form}"; expected CMD, CMD-SHELL or NONE`);
  const words: string[] = form === 'CMD-SHELL' ? [rest.join(' ')] : form === 'CMD' ? rest : hc.test;
  const http = httpCheck(words);
  const asCommand = form === 'CMD-SHELL' ? ['sh', '-c', words[0]] : words;
  if (http && !/\u0001/.test(words.join(' '))) return { http, probe: timing(hc), command: asCommand };
  // Secret references in the check are read from the container's variables by a shell.
  const secret = words.some((w) => /\u0001/.test(w));
  const command = form === 'CMD-SHELL' || secret ? ['sh', '-c', expandSecrets(ctx, words.join(' '), secretEnv, 'a healthcheck', true)] : words;
  return { probe: { command, ...timing(hc) } };
}
