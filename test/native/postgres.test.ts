/**
 * The generated PostgreSQL artifacts, executed for real with Debian 12's postgresql-15 as uid/gid
 * 10999 with no passwd entry, as in the pod: initdb through nss_wrapper the way the official image's
 * entrypoint does it, the server, the init script from the ConfigMap, the probes, the backup
 * CronJob's script and the stop signal. Only paths and the port are changed, by substitution.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PGDATA, POSTGRES_UID, initScript } from '../../charts/postgres';
import { backupScript } from '../../charts/postgres-backup';
import { NOT_IN_FORCE, PASSWORD_SYNC, POD_IP_EXPRESSION, passwordCheck } from '../../charts/password-sync';
import { defineStack } from '../../model/load';
import { postgresLogins } from '../../model/relations';
import { referenceStack } from '../../model/reference';
import type { PostgresComponent } from '../../model/schema';
import { container, envOf, find, manifests } from '../support/manifests';
import { PG_BIN, Server, TempRoot, adaptArgv, baseEnv, describeNative, freePort, nssWrapperLib, run, runAs, runGroup, sleep, substitute, waitFor, type RunResult } from './support';

const UID = POSTGRES_UID;
const fsGroup = { uid: 0, gid: UID };
const pgSpec = referenceStack.components.postgres as PostgresComponent;
const logins = postgresLogins(referenceStack, 'postgres');

/**
 * What the official image's entrypoint does before `postgres` runs for an empty PGDATA
 * (docker_create_db_directories, docker_init_database_dir, pg_setup_hba_conf), re-stated: when the
 * uid has no passwd entry, preload libnss_wrapper.so with passwd/group files made by `mktemp`
 * (in $TMPDIR, else /tmp: the pod's /tmp emptyDir), run initdb, remove the files and unset the
 * wrapper, then allow password logins over TCP. NSS_WRAPPER_LIB empty = an image without the wrapper.
 */
const ENTRYPOINT_INIT = String.raw`set -Eeo pipefail
POSTGRES_PASSWORD="$(< "$POSTGRES_PASSWORD_FILE")"
mkdir -p "$PGDATA"
chmod 00700 "$PGDATA" || :
uid="$(id -u)"
if ! getent passwd "$uid" > /dev/null 2>&1 && [ -n "$NSS_WRAPPER_LIB" ]; then
  NSS_WRAPPER_PASSWD="$(mktemp)"
  NSS_WRAPPER_GROUP="$(mktemp)"
  export LD_PRELOAD="$NSS_WRAPPER_LIB" NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
  gid="$(id -g)"
  printf 'postgres:x:%s:%s:PostgreSQL:%s:/bin/false\n' "$uid" "$gid" "$PGDATA" > "$NSS_WRAPPER_PASSWD"
  printf 'postgres:x:%s:\n' "$gid" > "$NSS_WRAPPER_GROUP"
fi
initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
if [[ "${'$'}{LD_PRELOAD:-}" == */libnss_wrapper.so ]]; then
  rm -f "$NSS_WRAPPER_PASSWD" "$NSS_WRAPPER_GROUP"
  unset LD_PRELOAD NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
fi
printf '\nhost all all all %s\n' "$(postgres -C password_encryption)" >> "$PGDATA/pg_hba.conf"
`;

describeNative('postgres (native, uid 10999 without a passwd entry)', 'postgres', () => {
  const objs = manifests();
  const sts = find(objs, 'StatefulSet', 'postgres');
  const pg = container(sts);
  const initConfigMap = find(objs, 'ConfigMap', 'postgres-init');
  const backupCron = find(manifests(referenceStack, 'prod'), 'CronJob', 'postgres-backup');

  let root: TempRoot;
  let port: number;
  let paths: { vol: string; pgdata: string; tmp: string; sock: string; logins: string; superuser: string; backups: string; initd: string };
  let server: Server | undefined;
  const passwords: Record<string, string> = {};
  const newPassword = () => crypto.randomBytes(24).toString('base64url');

  /** The container's environment with the pod's paths replaced by the temp ones. */
  const podEnv = (extra: Record<string, string> = {}) =>
    baseEnv({ ...envOf(pg), PGDATA: paths.pgdata, POSTGRES_PASSWORD_FILE: paths.superuser, ...extra });

  /** psql as the superuser over the socket (trust, as in the pod). */
  const su = (sql: string, db = 'postgres'): RunResult =>
    runAs(UID, [`${PG_BIN}/psql`, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', paths.sock, '-p', String(port), '-U', 'postgres', '-d', db, '-c', sql], baseEnv());

  /** psql as a login over TCP with its password. */
  const asLogin = (user: string, db: string, sql: string, password = passwords[user]): RunResult =>
    runAs(UID, [`${PG_BIN}/psql`, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql, `host=127.0.0.1 port=${port} user=${user} dbname=${db} sslmode=disable`], baseEnv({ PGPASSWORD: password }));

  const ok = (r: RunResult): string => {
    expect(r.status, r.output).toBe(0);
    return r.stdout.trim();
  };

  const runInitScript = (): RunResult => {
    const script = substitute(initConfigMap.data['10-stackport-logins.sh'], [['/run/stackport/logins', paths.logins], ['/run/secrets/postgres/password', paths.superuser]]);
    const file = root.write('docker-entrypoint-initdb.d/10-stackport-logins.sh', script, 0o555);
    // The entrypoint executes an executable *.sh with its own environment; the default socket dir is the temp one here.
    return runAs(UID, [file], podEnv({ PGHOST: paths.sock, PGPORT: String(port) }));
  };

  const initdb = (opts: { wrapper: boolean; tmpdir: string }): RunResult =>
    runAs(UID, ['bash', '-c', ENTRYPOINT_INIT], podEnv({ NSS_WRAPPER_LIB: opts.wrapper ? nssWrapperLib()! : '', TMPDIR: opts.tmpdir, POSTGRES_INITDB_ARGS: '--auth-local=trust --auth-host=scram-sha-256' }));

  beforeAll(async () => {
    root = new TempRoot('stackport-pg-');
    port = await freePort();
    // The claim as local-path provisions it: a 0777 directory, with lost+found like an ext4 mount root (hence PGDATA in a subdirectory).
    const vol = root.mkdir('volume', 0o777);
    root.mkdir('volume/lost+found', 0o700);
    paths = {
      vol,
      pgdata: `${vol}/pgdata`,
      tmp: root.mkdir('tmp', 0o777), // emptyDir /tmp
      sock: root.mkdir('run-postgresql', 0o777), // emptyDir /var/run/postgresql
      logins: root.mkdir('logins', 0o755),
      superuser: root.write('secrets/postgres/password', newPassword(), 0o440, fsGroup),
      backups: root.mkdir('backups', 0o2775, fsGroup), // a claim with fsGroup: setgid, group-writable
      initd: root.mkdir('docker-entrypoint-initdb.d', 0o755),
    };
    passwords.postgres = fs.readFileSync(paths.superuser, 'utf8');
    // The projected Secret items, one file per login, root:fsGroup 0440 (defaultMode 0o440).
    for (const l of logins) {
      passwords[l.user] = newPassword();
      root.write(`logins/${l.user}`, passwords[l.user], 0o440, fsGroup);
    }
  });

  afterAll(async () => {
    if (server?.running) {
      runAs(UID, [`${PG_BIN}/pg_ctl`, '-D', paths.pgdata, '-m', 'immediate', '-w', '-t', '10', 'stop'], baseEnv());
      await server.stop();
    }
    root?.remove();
  });

  it('uid 10999 has no passwd entry, so nothing here can rely on one', () => {
    expect(run(['getent', 'passwd', String(UID)]).status, 'getent passwd 10999 must fail').not.toBe(0);
    expect(runAs(UID, ['id', '-un'], baseEnv()).stderr).toContain('cannot find name for user ID 10999');
  });

  it('uses PGDATA in a subdirectory of the claim, and the reference stack logins', () => {
    expect(PGDATA).toBe('/var/lib/postgresql/data/pgdata');
    expect(envOf(pg).PGDATA).toBe(PGDATA);
    expect(logins.map((l) => [l.user, l.database, l.access])).toEqual([
      ['app', 'app', 'read-write'],
      ['pipeline', 'features', 'read-write'],
      ['app_ro', 'app', 'read-only'],
      ['features_ro', 'features', 'read-only'],
    ]);
    expect(initConfigMap.data['10-stackport-logins.sh']).toBe(initScript(pgSpec, logins));
  });

  it('initdb fails without nss_wrapper, and the wrapper cannot be set up without a writable /tmp', () => {
    const bare = initdb({ wrapper: false, tmpdir: paths.tmp });
    expect(bare.status, bare.output).not.toBe(0);
    expect(bare.stderr).toContain('could not look up effective user ID 10999: user does not exist');
    expect(fs.existsSync(`${paths.pgdata}/PG_VERSION`)).toBe(false);

    const readOnlyTmp = root.mkdir('readonly-tmp', 0o755); // what /tmp is under readOnlyRootFilesystem without the emptyDir
    const noTmp = initdb({ wrapper: true, tmpdir: readOnlyTmp });
    expect(noTmp.status, noTmp.output).not.toBe(0);
    expect(noTmp.stderr).toMatch(/mktemp: failed to create file via template .*Permission denied/);
    expect(fs.existsSync(`${paths.pgdata}/PG_VERSION`)).toBe(false);
  });

  it('initdb succeeds through nss_wrapper as the official entrypoint runs it, with a writable /tmp', () => {
    fs.rmSync(paths.pgdata, { recursive: true, force: true });
    const r = initdb({ wrapper: true, tmpdir: paths.tmp });
    expect(r.status, r.output).toBe(0);
    const st = fs.statSync(paths.pgdata);
    expect(st.uid).toBe(UID);
    expect(st.mode & 0o777).toBe(0o700);
    expect(fs.statSync(`${paths.pgdata}/PG_VERSION`).uid).toBe(UID);
    // The wrapper's passwd/group files were in the /tmp emptyDir and are removed afterwards.
    expect(fs.readdirSync(paths.tmp)).toEqual([]);
  });

  it('postgres starts as uid 10999 (no wrapper needed any more) on loopback and the socket emptyDir', async () => {
    server = new Server(UID, [`${PG_BIN}/postgres`, '-c', 'listen_addresses=127.0.0.1', '-p', String(port), '-k', paths.sock], podEnv(), root.path('postgres.log'));
    await waitFor('postgres to accept connections', () => {
      if (!server!.running) throw new Error(`postgres exited:\n${server!.log()}`);
      const r = runAs(UID, [`${PG_BIN}/pg_isready`, '-h', paths.sock, '-p', String(port), '-U', 'postgres'], baseEnv());
      return r.status === 0 || r.output;
    });
  });

  it('the generated init script creates the roles and databases with their owners', () => {
    const r = runInitScript();
    expect(r.status, r.output).toBe(0);
    const dbs = ok(su(`SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname IN ('app', 'features') ORDER BY 1`));
    expect(dbs.split('\n')).toEqual(['app:app', 'features:pipeline']);
    const roles = ok(su(`SELECT rolname || ':' || rolcanlogin || ':' || rolsuper || ':' || left(rolpassword, 14) FROM pg_authid WHERE rolname IN ('app', 'pipeline', 'app_ro', 'features_ro') ORDER BY 1`));
    expect(roles.split('\n')).toEqual(['app:true:false:SCRAM-SHA-256$', 'app_ro:true:false:SCRAM-SHA-256$', 'features_ro:true:false:SCRAM-SHA-256$', 'pipeline:true:false:SCRAM-SHA-256$']);
  });

  it('each login connects over TCP with its password (scram), a wrong password is refused', () => {
    expect(ok(su(`SELECT line_number FROM pg_hba_file_rules WHERE type = 'host' AND auth_method <> 'scram-sha-256'`))).toBe('');
    for (const l of logins) {
      expect(ok(asLogin(l.user, l.database, 'SELECT current_user || \'@\' || current_database()'))).toBe(`${l.user}@${l.database}`);
      const wrong = asLogin(l.user, l.database, 'SELECT 1', 'not-the-password');
      expect(wrong.status, wrong.output).not.toBe(0);
      expect(wrong.stderr).toContain(`password authentication failed for user "${l.user}"`);
    }
    // CONNECT was revoked from PUBLIC: a login reaches only its own database.
    for (const [user, other] of [['app_ro', 'features'], ['features_ro', 'app'], ['pipeline', 'app'], ['app', 'features']]) {
      const r = asLogin(user, other, 'SELECT 1');
      expect(r.status, r.output).not.toBe(0);
      expect(r.stderr).toContain(`permission denied for database "${other}"`);
    }
  });

  it('read-only logins can SELECT tables their owner creates later, and cannot write', () => {
    for (const [owner, ro, db] of [['app', 'app_ro', 'app'], ['pipeline', 'features_ro', 'features']]) {
      ok(asLogin(owner, db, `CREATE TABLE created_later (id int PRIMARY KEY, note text); INSERT INTO created_later VALUES (1, '${db}')`));
      expect(ok(asLogin(ro, db, 'SELECT id || \':\' || note FROM created_later'))).toBe(`1:${db}`);
      const insert = asLogin(ro, db, "INSERT INTO created_later VALUES (2, 'nope')");
      expect(insert.status, insert.output).not.toBe(0);
      expect(insert.stderr).toContain('permission denied for table created_later');
      const create = asLogin(ro, db, 'CREATE TABLE mine (id int)');
      expect(create.status, create.output).not.toBe(0);
      expect(create.stderr).toContain('permission denied for schema public');
    }
  });

  it('running the init script again succeeds, changes nothing else, and applies a changed password', () => {
    const old = passwords.app_ro;
    passwords.app_ro = newPassword();
    root.write('logins/app_ro', passwords.app_ro, 0o440, fsGroup);
    const r = runInitScript();
    expect(r.status, r.output).toBe(0);
    expect(ok(su(`SELECT count(*) FROM pg_database WHERE datname IN ('app', 'features')`))).toBe('2');
    expect(ok(asLogin('app_ro', 'app', 'SELECT count(*) FROM created_later'))).toBe('1');
    expect(asLogin('app_ro', 'app', 'SELECT 1', old).stderr).toContain('password authentication failed');
    for (const l of logins) ok(asLogin(l.user, l.database, 'SELECT 1'));
  });

  it('the password-sync sidecar puts a rotated password in force once its file changes; the check a deploy runs then logs in', async () => {
    const sidecar = sts.spec.template.spec.initContainers.find((c: any) => c.name === PASSWORD_SYNC);
    expect(sidecar.restartPolicy).toBe('Always');
    runInitScript(); // writes the substituted script where the sidecar reads it
    const loop = substitute(sidecar.command[2], [
      ['/tmp/password-sync.log', `${paths.tmp}/password-sync.log`],
      ['/docker-entrypoint-initdb.d/10-stackport-logins.sh', `${paths.initd}/10-stackport-logins.sh`],
      ['/run/secrets/postgres/password', paths.superuser],
      ['/run/stackport/logins', paths.logins],
      ['-p 5432', `-p ${port}`],
    ]);
    const env = baseEnv({ ...envOf(sidecar), PGHOST: paths.sock, PGPORT: String(port) });
    const sync = new Server(UID, ['sh', '-c', loop], env, root.path('password-sync.log'));
    try {
      await waitFor('the first pass of the sidecar', () => {
        if (sync.log().includes('failed')) throw new Error(sync.log());
        return sync.log().includes('in force') || sync.log();
      });
      const old = passwords.pipeline;
      passwords.pipeline = newPassword();
      root.write('logins/pipeline', passwords.pipeline, 0o440, fsGroup);
      await waitFor('the rotated password in force', () => asLogin('pipeline', 'features', 'SELECT 1').status === 0 || asLogin('pipeline', 'features', 'SELECT 1').output);
      expect(asLogin('pipeline', 'features', 'SELECT 1', old).stderr).toContain('password authentication failed');
      // The superuser's too (the backup logs in with it over TCP).
      const superuser = newPassword();
      root.write('secrets/postgres/password', superuser, 0o440, fsGroup);
      await waitFor('the rotated superuser password in force', () => asLogin('postgres', 'postgres', 'SELECT 1', superuser).status === 0 || asLogin('postgres', 'postgres', 'SELECT 1', superuser).output);
      expect(asLogin('postgres', 'postgres', 'SELECT 1', passwords.postgres).status).not.toBe(0);
      passwords.postgres = superuser;
      // The deploy's check (ops/rotation.ts): logins and databases as arguments, one password per
      // login on stdin; it names the logins that failed, by their place.
      const script = substitute(passwordCheck('postgres'), [[POD_IP_EXPRESSION, '127.0.0.1'], ['-p 5432', `-p ${port}`]]);
      const check = (...pairs: [string, string, string][]) =>
        runAs(UID, ['sh', '-c', script, 'check', ...pairs.flatMap(([login, db]) => [login, db])], env, { input: pairs.map(([, , password]) => `${password}\n`).join('') });
      expect(check(['pipeline', 'features', passwords.pipeline]).status).toBe(0);
      expect(check(['pipeline', 'features', passwords.pipeline], ['postgres', 'postgres', passwords.postgres]).status).toBe(0);
      const stale = check(['pipeline', 'features', old], ['postgres', 'postgres', passwords.postgres], ['pipeline', 'features', 'not-it']);
      expect(stale.status, stale.output).toBe(1);
      expect(stale.stdout).toBe(`${NOT_IN_FORCE} 0 2\n`);
      expect(sync.log()).not.toContain('failed');
      expect(sync.log()).not.toContain(passwords.pipeline);
    } finally {
      await sync.stop();
    }
  });

  it('a mixed-case login is created as written, owns its databases and logs in as itself; the maintenance database is granted, not locked', () => {
    const spec = defineStack({
      name: 'tools',
      components: {
        db: { kind: 'postgres', databases: [{ name: 'postgres', owner: 'yourUser' }, { name: 'Sales-EU', owner: 'yourUser' }, { name: 'Sales', owner: 'yourUser' }] },
        report: { kind: 'job', image: 'ghcr.io/acme/report:1.0.0', uses: [{ to: 'db', database: 'Sales-EU', access: 'read-only' }] },
      },
    });
    const mixed = postgresLogins(spec, 'db');
    expect(mixed.map((l) => l.user)).toEqual(['yourUser', 'Sales-EU_ro']);
    for (const l of mixed) {
      passwords[l.user] = newPassword();
      root.write(`logins/${l.user}`, passwords[l.user], 0o440, fsGroup);
    }
    const script = substitute(initScript(spec.components.db as PostgresComponent, mixed), [['/run/stackport/logins', paths.logins], ['/run/secrets/postgres/password', paths.superuser]]);
    const file = root.write('mixed/10-stackport-logins.sh', script, 0o555);
    for (let i = 0; i < 2; i++) {
      const r = runAs(UID, [file], podEnv({ PGHOST: paths.sock, PGPORT: String(port) }));
      expect(r.status, r.output).toBe(0);
    }
    expect(ok(su(`SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE lower(rolname) IN ('youruser', 'sales-eu_ro')`))).toBe('Sales-EU_ro,yourUser');
    expect(ok(su(`SELECT string_agg(datname || ':' || pg_get_userbyid(datdba), ',' ORDER BY datname) FROM pg_database WHERE datname LIKE 'Sales%'`))).toBe('Sales:yourUser,Sales-EU:yourUser');
    expect(ok(asLogin('yourUser', 'Sales-EU', `CREATE TABLE "Orders" (id int); INSERT INTO "Orders" VALUES (7); SELECT current_user || '@' || current_database()`)).split('\n').pop()).toBe('yourUser@Sales-EU');
    // libpq does not fold case: the lower-cased name the importer used to write is no role at all.
    const folded = asLogin('youruser', 'Sales-EU', 'SELECT 1', passwords.yourUser);
    expect(folded.status, folded.output).not.toBe(0);
    expect(folded.stderr).toContain('password authentication failed for user "youruser"');
    // The maintenance database existed: granted to yourUser (schema public included), and still open to the other logins.
    ok(asLogin('yourUser', 'postgres', 'CREATE TABLE mine (id int); DROP TABLE mine'));
    ok(asLogin('pipeline', 'postgres', 'SELECT 1'));
    expect(ok(asLogin('Sales-EU_ro', 'Sales-EU', 'SELECT id FROM "Orders"'))).toBe('7');
    expect(asLogin('Sales-EU_ro', 'Sales-EU', 'INSERT INTO "Orders" VALUES (8)').stderr).toContain('permission denied for table Orders');
    expect(asLogin('Sales-EU_ro', 'Sales', 'SELECT 1').stderr).toContain('permission denied for database "Sales"');
  });

  it('the backup script dumps mixed-case databases, and pruning one never removes the dumps of another named like it', async () => {
    const dir = root.mkdir('mixed-backups', 0o2775, fsGroup);
    const script = substitute(backupScript('127.0.0.1', ['Sales-EU', 'Sales'], 1), [
      ['/run/secrets/postgres/password', paths.superuser],
      ['/backups', dir],
      ['-p 5432', `-p ${port}`],
    ]);
    for (let i = 0; i < 2; i++) {
      if (i > 0) await sleep(1_100); // the file names carry a one-second timestamp
      const r = runAs(UID, ['sh', '-c', script], baseEnv({ HOME: paths.tmp }));
      expect(r.status, r.output).toBe(0);
    }
    const files = fs.readdirSync(dir).sort();
    expect(files.filter((f) => f.endsWith('.dump')).map((f) => f.replace(/-\d{8}T\d{6}Z\.dump$/, ''))).toEqual(['Sales', 'Sales-EU']);
  }, 30_000);

  it("the StatefulSet's startup, readiness and liveness pg_isready commands exit 0 as uid 10999", () => {
    const adapt = (argv: string[]) => adaptArgv(argv, [['/var/run/postgresql', paths.sock], ['5432', String(port)]]);
    const probes: Record<string, string[]> = {
      startup: pg.startupProbe.exec.command,
      readiness: pg.readinessProbe.exec.command,
      liveness: pg.livenessProbe.exec.command,
    };
    const failures: string[] = [];
    for (const [name, argv] of Object.entries(probes)) {
      const r = runAs(UID, adapt(argv), podEnv());
      if (r.status === 0) continue;
      // Diagnose, do not excuse: what pg_isready says without -q, and whether naming the user is enough.
      const loud = runAs(UID, adapt(argv).filter((a) => a !== '-q'), podEnv());
      const withUser = runAs(UID, [...adapt(argv), '-U', 'postgres'], podEnv());
      failures.push(`${name} probe ${JSON.stringify(argv)} exited ${r.status} (pg_isready: 0 accepting, 1 rejecting, 2 no response, 3 no attempt); ` +
        `without -q it prints "${(loud.stdout + loud.stderr).trim()}"; with -U postgres added it exits ${withUser.status}.`);
    }
    expect(failures, failures.join('\n')).toEqual([]);
  });

  it("the backup CronJob's script keeps the newest dumps, writes atomically, and pg_restore reads them", async () => {
    const cron = container(backupCron);
    expect(cron.command).toEqual(['sh', '-c', backupScript('postgres', ['app', 'features'], 7)]);
    const script = substitute(backupScript('127.0.0.1', ['app', 'features'], 2), [
      ['/run/secrets/postgres/password', paths.superuser],
      ['/backups', paths.backups],
      ['-p 5432', `-p ${port}`],
    ]);
    const env = baseEnv({ ...envOf(cron), HOME: paths.tmp });
    const started = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 3; i++) {
      if (i > 0) await sleep(1_100); // the file names carry a one-second timestamp
      const r = runAs(UID, ['sh', '-c', script], env);
      expect(r.status, r.output).toBe(0);
    }
    const files = fs.readdirSync(paths.backups).sort();
    expect(files.filter((f) => f.includes('.partial'))).toEqual([]);
    for (const db of ['app', 'features']) {
      expect(files.filter((f) => f.startsWith(`${db}-`)), files.join(' ')).toEqual([expect.stringMatching(new RegExp(`^${db}-\\d{8}T\\d{6}Z\\.dump$`)), expect.stringMatching(/\.dump$/)]);
    }
    const globals = files.filter((f) => /^globals-\d{8}T\d{6}Z\.sql$/.test(f));
    expect(globals, files.join(' ')).toHaveLength(2);
    expect(files).toContain('last-success');
    expect(files).toHaveLength(2 + 2 + 2 + 1);
    for (const f of files) expect(fs.statSync(`${paths.backups}/${f}`).uid, f).toBe(UID);
    const globalsSql = fs.readFileSync(`${paths.backups}/${globals[1]}`, 'utf8');
    for (const l of logins) expect(globalsSql).toContain(`CREATE ROLE ${l.user};`);
    expect(globalsSql).not.toContain('SCRAM-SHA-256');
    const last = Number(fs.readFileSync(`${paths.backups}/last-success`, 'utf8').trim());
    expect(last).toBeGreaterThanOrEqual(started);
    expect(last).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    const newest = files.filter((f) => f.startsWith('app-')).pop()!;
    const list = runAs(UID, [`${PG_BIN}/pg_restore`, '--list', `${paths.backups}/${newest}`], baseEnv());
    expect(list.status, list.output).toBe(0);
    expect(list.stdout).toMatch(/TABLE public created_later app/);
    expect(list.stdout).toMatch(/ACL public TABLE created_later app/);
  }, 60_000);

  it('has no preStop hook, and the stop signal (SIGINT) shuts down fast within the grace period even with a client connected', async () => {
    // A preStop `pg_ctl stop` ends the container's main process, which kills the hook itself (exit 137).
    expect(pg.lifecycle).toBeUndefined();
    const grace = find(objs, 'StatefulSet', 'postgres').spec.template.spec.terminationGracePeriodSeconds as number;
    // An idle session: a smart shutdown (SIGTERM) would wait for it to end, a fast one disconnects it.
    const client = runGroup(['sh', '-c', `exec setpriv --reuid=${UID} --regid=${UID} --clear-groups ${PG_BIN}/psql -h 127.0.0.1 -p ${port} -U postgres -d postgres -c 'SELECT pg_sleep(600)'`], podEnv({ PGPASSWORD: passwords.postgres }), grace * 1000);
    await waitFor('the client session', () => {
      const r = runAs(UID, [`${PG_BIN}/psql`, '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-tAc', "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(600)%' AND pid <> pg_backend_pid()"], podEnv({ PGPASSWORD: passwords.postgres }));
      return r.stdout.trim() === '1' || r.output;
    });
    const started = Date.now();
    process.kill(server!.child.pid!, 'SIGINT');
    await server!.waitExit(grace * 1000);
    expect(Date.now() - started).toBeLessThan(grace * 1000);
    expect(server!.log()).toContain('received fast shutdown request');
    expect((await client).status).not.toBe(0);
    const after = runAs(UID, [`${PG_BIN}/pg_isready`, '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], baseEnv());
    expect(after.status).toBe(2);
  }, 90_000);
});
