/**
 * Runs the generated PostgreSQL and Redis artifacts for real with Debian 12's own packages, as an
 * unprivileged uid that has no passwd entry (like the pods' 10999), without a container engine.
 * `scripts/install-native-deps.sh` installs what is needed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'vitest';

export const INSTALL = 'scripts/install-native-deps.sh';
/** Debian 12's PostgreSQL; the official image puts its own bin directory first on PATH the same way. */
export const PG_BIN = process.env.STACKPORT_PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** Every wait is bounded by this. */
export const WAIT_MS = 30_000;

export const inCI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

/** Where the official postgres image's entrypoint looks for the wrapper: `{/usr,}/lib{/*,}/libnss_wrapper.so`. */
export function nssWrapperLib(): string | undefined {
  const candidates: string[] = [];
  for (const prefix of ['/usr/lib', '/lib']) {
    try {
      for (const d of fs.readdirSync(prefix)) candidates.push(path.join(prefix, d, 'libnss_wrapper.so'));
    } catch {
      /* no such dir */
    }
    candidates.push(path.join(prefix, 'libnss_wrapper.so'));
  }
  return candidates.find((f) => {
    try {
      return fs.statSync(f).size > 0;
    } catch {
      return false;
    }
  });
}

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v "$1"`, 'sh', bin], { stdio: 'ignore' }).status === 0;
}

/** What is missing to run one kind of native test; empty when everything is there. */
export function missingPrerequisites(kind: 'postgres' | 'redis'): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (to switch to uid 10999 with setpriv)');
  for (const b of ['setpriv', 'getent', 'bash']) if (!onPath(b)) missing.push(b);
  if (kind === 'postgres') {
    for (const b of ['initdb', 'postgres', 'pg_ctl', 'psql', 'pg_isready', 'pg_dump', 'pg_dumpall', 'pg_restore']) {
      if (!fs.existsSync(path.join(PG_BIN, b))) missing.push(path.join(PG_BIN, b));
    }
    if (!nssWrapperLib()) missing.push('libnss_wrapper.so');
  } else {
    for (const b of ['redis-server', 'redis-cli']) if (!onPath(b)) missing.push(b);
  }
  return missing;
}

/**
 * A describe block that runs when the native prerequisites are there, FAILS in CI when they are
 * not, and is skipped (with the reason in its name) on a developer machine that lacks them.
 */
export function describeNative(name: string, kind: 'postgres' | 'redis', body: () => void): void {
  const missing = missingPrerequisites(kind);
  if (missing.length === 0) {
    describe(name, body);
    return;
  }
  const reason = `missing ${missing.join(', ')}; run \`bash ${INSTALL}\``;
  if (inCI) {
    describe(name, () => {
      it('has its native prerequisites (CI must install them)', () => {
        throw new Error(`native test prerequisites ${reason}`);
      });
    });
    return;
  }
  console.warn(`[test/native] skipping "${name}": ${reason}`);
  describe.skip(`${name} [skipped: ${reason}]`, body);
}

export interface RunResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Everything, for assertion messages. */
  readonly output: string;
}

/** A minimal environment, like a container's: nothing from the test runner leaks in. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${PG_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, LANG: 'C.UTF-8', HOME: '/', ...extra };
}

function setprivArgs(uid: number, argv: string[]): string[] {
  return [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv];
}

/** Runs argv as uid/gid `uid` (no supplementary groups), bounded by WAIT_MS. */
export function runAs(uid: number, argv: string[], env: Record<string, string>, opts: { input?: string; cwd?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync('setpriv', setprivArgs(uid, argv), {
    env,
    cwd: opts.cwd ?? '/',
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? WAIT_MS,
    killSignal: 'SIGKILL',
  });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  return { status: r.status, signal: r.signal, stdout, stderr, output: `$ ${argv.join(' ')}\nexit ${r.status}${r.signal ? ` (${r.signal})` : ''}\n--- stdout\n${stdout}\n--- stderr\n${stderr}${r.error ? `\n--- error\n${r.error.message}` : ''}` };
}

/** Runs a command as root (for checks such as getent), bounded by WAIT_MS. */
export function run(argv: string[], env: Record<string, string> = baseEnv()): RunResult {
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', timeout: WAIT_MS, killSignal: 'SIGKILL' });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  return { status: r.status, signal: r.signal, stdout, stderr, output: `$ ${argv.join(' ')}\nexit ${r.status}\n--- stdout\n${stdout}\n--- stderr\n${stderr}` };
}

/** A long-running server started as `uid`, in its own process group, output appended to `logFile`. */
export class Server {
  readonly child: ChildProcess;
  private exited = false;
  private readonly exit: Promise<void>;

  constructor(uid: number, argv: string[], env: Record<string, string>, readonly logFile: string) {
    const fd = fs.openSync(logFile, 'a');
    this.child = spawn('setpriv', setprivArgs(uid, argv), { env, cwd: '/', detached: true, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    this.exit = new Promise((resolve) => {
      this.child.once('exit', () => {
        this.exited = true;
        resolve();
      });
      this.child.once('error', () => {
        this.exited = true;
        resolve();
      });
    });
  }

  get running(): boolean {
    return !this.exited;
  }

  log(): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Resolves when the process has exited; rejects after `ms`. */
  async waitExit(ms = WAIT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exit,
      new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`pid ${this.child.pid} still running after ${ms} ms\n${this.log().slice(-2000)}`)), ms);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Signals the whole process group (the server and its children). */
  signal(sig: NodeJS.Signals): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch {
      /* already gone */
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    this.signal('SIGTERM');
    try {
      await this.waitExit(graceMs);
    } catch {
      this.signal('SIGKILL');
      await this.waitExit(5_000).catch(() => undefined);
    }
  }
}

/**
 * Runs argv (as root) in its own process group and waits for it, at most `ms`; on time-out the
 * whole group is killed, so nothing it started outlives the test.
 */
export function runGroup(argv: string[], env: Record<string, string>, ms = WAIT_MS): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { env, cwd: '/', detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, ms);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr, output: `$ ${argv.join(' ')}\nexit ${status}${signal ? ` (${signal})` : ''}${timedOut ? ` (killed after ${ms} ms)` : ''}\n--- stdout\n${stdout}\n--- stderr\n${stderr}` });
    });
  });
}

/** Polls `check` until it returns true, at most `ms`; the error names what was awaited and why it last failed. */
export async function waitFor(what: string, check: () => boolean | string | Promise<boolean | string>, ms = WAIT_MS, everyMs = 100): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown = '';
  for (;;) {
    try {
      const r = await check();
      if (r === true) return;
      last = r;
    } catch (e) {
      last = e instanceof Error ? e.message : e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last).slice(-2000)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address() as net.AddressInfo;
      srv.close(() => resolve(addr.port));
    });
  });
}

/** Sends raw bytes to 127.0.0.1:port and returns what comes back before the first CRLF (bounded). */
export function rawExchange(port: number, payload: string, ms = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply from 127.0.0.1:${port} within ${ms} ms (got ${JSON.stringify(data)})`));
    }, ms);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(payload));
    sock.on('data', (chunk) => {
      data += chunk;
      if (data.includes('\r\n')) {
        clearTimeout(timer);
        sock.destroy();
        resolve(data.split('\r\n')[0]);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** A temporary root readable by everyone (so the unprivileged uid can reach what is inside). */
export class TempRoot {
  readonly dir: string;

  constructor(prefix: string) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(this.dir, 0o755);
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  /** A directory with an exact mode (mkdir is subject to the umask) and owner. */
  mkdir(rel: string, mode: number, owner: { uid: number; gid: number } = { uid: 0, gid: 0 }): string {
    const p = this.path(rel);
    fs.mkdirSync(p, { recursive: true });
    fs.chownSync(p, owner.uid, owner.gid);
    fs.chmodSync(p, mode);
    return p;
  }

  /** A file with an exact mode and owner, e.g. a Secret item as the kubelet projects it (root:fsGroup 0440). */
  write(rel: string, content: string, mode: number, owner: { uid: number; gid: number } = { uid: 0, gid: 0 }): string {
    const p = this.path(rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    fs.chownSync(p, owner.uid, owner.gid);
    fs.chmodSync(p, mode);
    return p;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Replaces every occurrence of each key by its value, failing if a key does not occur: a
 * substitution that silently matches nothing would test something other than the artifact.
 */
export function substitute(text: string, replacements: Array<[string, string]>): string {
  let out = text;
  for (const [from, to] of replacements) {
    if (!out.includes(from)) throw new Error(`expected ${JSON.stringify(from)} in the generated text:\n${text}`);
    out = out.split(from).join(to);
  }
  return out;
}

/**
 * A probe or hook command as Kubernetes runs it (argv), with each replacement applied to every
 * element; replacements that do not occur are ignored, but at least one must apply.
 */
export function adaptArgv(argv: string[], replacements: Array<[string, string]>): string[] {
  const joined = argv.join('\u0000');
  if (!replacements.some(([from]) => joined.includes(from))) throw new Error(`none of ${JSON.stringify(replacements.map(([f]) => f))} in ${JSON.stringify(argv)}`);
  return argv.map((a) => replacements.reduce((s, [from, to]) => s.split(from).join(to), a));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
