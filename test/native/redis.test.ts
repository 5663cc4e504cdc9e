/**
 * The generated Redis artifacts, executed for real with Debian 12's redis-server as uid/gid 10999
 * with no passwd entry, as in the pod: the start command (password file -> included auth.conf), the
 * ConfigMap's redis.conf, the probes, and append-only persistence across a crash. Paths, the
 * port and (outside a network namespace of its own) the bind address are changed by substitution.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NOT_IN_FORCE, PASSWORD_SYNC, passwordCheck } from '../../charts/password-sync';
import { REDIS_UID, redisConf } from '../../charts/redis';
import { referenceStack } from '../../model/reference';
import type { RedisComponent } from '../../model/schema';
import { resolveStack, type Resolved } from '../../model/presets';
import { container, find, manifests } from '../support/manifests';
import { Server, TempRoot, adaptArgv, baseEnv, describeNative, freePort, rawExchange, run, runAs, runGroup, substitute, waitFor, type RunResult } from './support';

const UID = REDIS_UID;
const fsGroup = { uid: 0, gid: UID };

describeNative('redis (native, uid 10999 without a passwd entry)', 'redis', () => {
  const objs = manifests();
  const sts = find(objs, 'StatefulSet', 'redis');
  const redis = container(sts);
  const generatedConf: string = find(objs, 'ConfigMap', 'redis-config').data['redis.conf'];
  const start: string = redis.command[2];

  let root: TempRoot;
  let port: number;
  let paths: { data: string; conf: string; password: string; runRedis: string; wrongPassword: string };
  let server: Server | undefined;
  let verbatim: { data: string; conf: string; runRedis: string } | undefined;
  const password = crypto.randomBytes(24).toString('base64url');
  const key = `stackport:native:${crypto.randomBytes(4).toString('hex')}`;
  const value = crypto.randomBytes(12).toString('hex');

  const startCommand = (conf: string, runRedis: string) =>
    substitute(start, [
      ['/run/secrets/redis/password', paths.password],
      ['/run/redis/auth.conf', `${runRedis}/auth.conf`],
      ['/etc/redis/redis.conf', conf],
    ]);

  /** Starts the server and waits for it; resolves to what it logged during this start. */
  const startServer = async (): Promise<() => string> => {
    const log = root.path('redis.log');
    const from = fs.existsSync(log) ? fs.statSync(log).size : 0;
    server = new Server(UID, ['sh', '-c', startCommand(paths.conf, paths.runRedis)], baseEnv(), log);
    const thisStart = () => server!.log().slice(from);
    await waitFor('redis to accept connections', () => {
      if (!server!.running) throw new Error(`redis exited:\n${thisStart()}`);
      return thisStart().includes('Ready to accept connections') || thisStart();
    });
    return thisStart;
  };

  const cli = (args: string[], auth: string | null = password): RunResult =>
    runAs(UID, ['redis-cli', '-h', '127.0.0.1', '-p', String(port), ...args], baseEnv(auth === null ? {} : { REDISCLI_AUTH: auth }));

  const probe = (argv: string[], passwordFile = paths.password): RunResult =>
    runAs(UID, adaptArgv(argv, [['/run/secrets/redis/password', passwordFile], ['6379', String(port)]]), baseEnv());

  beforeAll(async () => {
    root = new TempRoot('stackport-redis-');
    port = await freePort();
    paths = {
      data: root.mkdir('data', 0o2775, fsGroup), // the claim with fsGroup: setgid, group-writable
      conf: '',
      password: root.write('secrets/redis/password', password, 0o440, fsGroup), // Secret volume, defaultMode 0o440
      runRedis: root.mkdir('run-redis', 0o777), // emptyDir /run/redis
      wrongPassword: root.write('secrets/wrong/password', 'not-the-password', 0o440, fsGroup),
    };
    root.mkdir('tmp', 0o777); // emptyDir /tmp
    root.mkdir('etc-redis', 0o755); // the ConfigMap, read-only
    paths.conf = root.write(
      'etc-redis/redis.conf',
      substitute(generatedConf, [
        ['bind * -::*', 'bind 127.0.0.1'],
        ['port 6379', `port ${port}`],
        ['dir /data', `dir ${paths.data}`],
        ['/run/redis/auth.conf', `${paths.runRedis}/auth.conf`],
      ]),
      0o644,
    );
  });

  afterAll(async () => {
    await server?.stop();
    root?.remove();
  });

  it('uid 10999 has no passwd entry', () => {
    expect(run(['getent', 'passwd', String(UID)]).status, 'getent passwd 10999 must fail').not.toBe(0);
    expect(runAs(UID, ['id', '-un'], baseEnv()).stderr).toContain('cannot find name for user ID 10999');
  });

  it('the ConfigMap and start command are what the chart generates for the reference stack', () => {
    const resolved = resolveStack(referenceStack, 'kind').components.redis as Resolved<RedisComponent>;
    expect(generatedConf).toBe(redisConf(resolved, true, resolved.resources));
    expect(redis.command.slice(0, 2)).toEqual(['sh', '-c']);
    expect(start).toContain('/run/secrets/redis/password');
    expect(generatedConf).toContain('appendonly yes');
  });

  it('the generated redis.conf is accepted verbatim (bind * -::*, port 6379) in a network namespace of its own, like a pod', async () => {
    // Only paths change; the port and bind address stay, isolated from the host in a fresh netns with just lo.
    verbatim = {
      data: root.mkdir('verbatim/data', 0o2775, fsGroup),
      runRedis: root.mkdir('verbatim/run-redis', 0o777),
      conf: '',
    };
    verbatim.conf = root.write('verbatim/redis.conf', substitute(generatedConf, [['dir /data', `dir ${verbatim.data}`], ['/run/redis/auth.conf', `${verbatim.runRedis}/auth.conf`]]), 0o644);
    const asUid = `setpriv --reuid=${UID} --regid=${UID} --clear-groups --`;
    const readiness = adaptArgv(redis.readinessProbe.exec.command, [['/run/secrets/redis/password', paths.password]]);
    const script = [
      'set -u',
      'ip link set lo up',
      `${asUid} sh -c "$START" > "$LOG" 2>&1 &`,
      'pid=$!',
      'ok=',
      'for i in $(seq 1 200); do',
      `  if ${asUid} sh -c "$READY"; then ok=1; break; fi`,
      '  sleep 0.1',
      'done',
      // bind * -::* listens on IPv6 as well
      `v6="$(REDISCLI_AUTH="$(cat "$PWFILE")" ${asUid} redis-cli -h ::1 -p 6379 ping 2>&1)"`,
      'kill "$pid"; wait "$pid"',
      'echo "ready=$ok v6=$v6"',
      '[ -n "$ok" ] && [ "$v6" = PONG ]',
    ].join('\n');
    const r = await runGroup(['unshare', '--net', '--', 'bash', '-c', script], baseEnv({ START: startCommand(verbatim.conf, verbatim.runRedis), READY: readiness[2], LOG: root.path('verbatim/redis.log'), PWFILE: paths.password }));
    expect(r.status, `${r.output}\n--- redis log\n${fs.readFileSync(root.path('verbatim/redis.log'), 'utf8')}`).toBe(0);
    expect(r.stdout).toContain('ready=1 v6=PONG');
  });

  it('starts from the generated command as uid 10999: the password file becomes an included auth.conf', async () => {
    await startServer();
    const auth = `${paths.runRedis}/auth.conf`;
    expect(fs.readFileSync(auth, 'utf8')).toBe(`requirepass "${password}"\n`);
    expect(fs.statSync(auth).uid).toBe(UID);
    // Only its owner may read the password (the official entrypoint's umask 0077, which the command replaces).
    expect(fs.statSync(auth).mode & 0o777).toBe(0o600);
    expect(server!.log()).not.toMatch(/Bad directive|FATAL CONFIG FILE ERROR/);
  });

  it('refuses unauthenticated commands and a wrong password', async () => {
    expect(await rawExchange(port, 'PING\r\n')).toBe('-NOAUTH Authentication required.');
    expect(cli(['ping'], null).stdout).toContain('NOAUTH Authentication required');
    const wrong = cli(['ping'], 'not-the-password');
    expect(wrong.stdout + wrong.stderr).toMatch(/WRONGPASS|NOAUTH/);
    expect(cli(['ping']).stdout.trim()).toBe('PONG');
  });

  it("the StatefulSet's startup, readiness and liveness commands succeed as uid 10999, and fail with a wrong password", () => {
    for (const [name, p] of Object.entries({ startup: redis.startupProbe, readiness: redis.readinessProbe, liveness: redis.livenessProbe })) {
      const r = probe(p.exec.command);
      expect(r.status, `${name}\n${r.output}`).toBe(0);
    }
    const negative = probe(redis.readinessProbe.exec.command, paths.wrongPassword);
    expect(negative.status, negative.output).not.toBe(0);
  });

  it('writes to the append-only file under the data dir, owned by 10999', async () => {
    expect(cli(['set', key, value]).stdout.trim()).toBe('OK');
    const aofDir = `${paths.data}/appendonlydir`;
    // appendfsync everysec: the write reaches the incremental AOF within about a second.
    await waitFor('the key in the incremental AOF', () => {
      const incr = fs.existsSync(aofDir) ? fs.readdirSync(aofDir).filter((f) => f.endsWith('.incr.aof')) : [];
      return incr.some((f) => fs.readFileSync(`${aofDir}/${f}`, 'utf8').includes(key)) || `files: ${incr.join(' ')}`;
    });
    const files = fs.readdirSync(aofDir);
    expect(files).toEqual(expect.arrayContaining([expect.stringMatching(/\.base\.rdb$/), expect.stringMatching(/\.incr\.aof$/), expect.stringMatching(/\.manifest$/)]));
    for (const f of ['.', ...files]) {
      const st = fs.statSync(`${aofDir}/${f}`);
      expect(st.uid, f).toBe(UID);
      expect(st.gid, f).toBe(UID);
    }
  });

  it('the password-sync sidecar puts a rotated password in force without a restart, and a restart keeps it', async () => {
    const sidecar = sts.spec.template.spec.initContainers.find((c: any) => c.name === PASSWORD_SYNC);
    expect(sidecar.restartPolicy).toBe('Always');
    const loop = substitute(sidecar.command[2], [
      ['/run/secrets/redis/password', paths.password],
      ['/run/redis/auth.conf', `${paths.runRedis}/auth.conf`],
      ['-p 6379', `-p ${port}`],
    ]);
    const sync = new Server(UID, ['sh', '-c', loop], baseEnv(), root.path('password-sync.log'));
    const rotated = crypto.randomBytes(24).toString('base64url');
    try {
      root.write('secrets/redis/password', rotated, 0o440, fsGroup);
      // The sidecar logs once it has also rewritten the auth file (after CONFIG SET).
      await waitFor('the sidecar to report the rotation', () => sync.log().includes("password-sync: the Secret's password is in force") || sync.log());
      expect(cli(['ping'], rotated).stdout.trim()).toBe('PONG');
      const old = cli(['ping'], password);
      expect(old.stdout + old.stderr).toMatch(/WRONGPASS|NOAUTH/);
      expect(fs.readFileSync(`${paths.runRedis}/auth.conf`, 'utf8')).toBe(`requirepass "${rotated}"\n`);
      expect(fs.statSync(`${paths.runRedis}/auth.conf`).mode & 0o777).toBe(0o600);
      // The deploy's check (ops/rotation.ts), password on stdin.
      const check = (p: string) => runAs(UID, ['sh', '-c', substitute(passwordCheck('redis'), [['-p 6379', `-p ${port}`]])], baseEnv(), { input: `${p}\n` });
      expect(check(rotated).status).toBe(0);
      const stale = check(password);
      expect(stale.status).toBe(1);
      expect(stale.stdout).toBe(`${NOT_IN_FORCE} 0\n`);
      expect(sync.log()).not.toContain(rotated);
    } finally {
      await sync.stop();
      // The rest of this file logs in with the first password: put it back the same way.
      root.write('secrets/redis/password', password, 0o440, fsGroup);
      const back = new Server(UID, ['sh', '-c', loop], baseEnv(), root.path('password-sync.log'));
      await waitFor('the first password back', () => cli(['ping']).stdout.trim() === 'PONG' || cli(['ping']).output);
      await back.stop();
    }
  });

  it('keeps the key after being killed (SIGKILL) and restarted with the same command', async () => {
    server!.signal('SIGKILL');
    await server!.waitExit();
    const log = await startServer();
    expect(log()).toMatch(/DB loaded from append only file/);
    expect(cli(['get', key]).stdout.trim()).toBe(value);
    expect(probe(redis.readinessProbe.exec.command).status).toBe(0);
  });
});
