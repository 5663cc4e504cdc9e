/**
 * The init containers that hold pods back, run for real with sh: the generated scripts are taken
 * from the synthesized objects, the clients they call (alembic, pg_isready, redis-cli) are stand-in
 * scripts on PATH, and the deadline and interval are shortened by substitution.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { container, find, manifests, podSpec } from '../support/manifests';

const objs = manifests();
const api = find(objs, 'Deployment', 'api');
const waitForMigrate: string = container(api, 'wait-for-migrate').command[2];
const workerInits = podSpec(find(objs, 'CronJob', 'worker')).initContainers;
const waitForPostgres: string = workerInits.find((c: any) => c.name === 'wait-for-postgres').command[2];
const waitForRedis: string = workerInits.find((c: any) => c.name === 'wait-for-redis').command[2];

let bin: string;
beforeAll(() => {
  bin = fs.mkdtempSync(path.join(os.tmpdir(), 'stackport-waits-'));
});
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

/** A stand-in command: its stdout, stderr and exit code come from files the test writes per attempt. */
function standIn(name: string, script: string): void {
  fs.writeFileSync(path.join(bin, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
}

/** Runs a wait script with a short deadline (seconds, counted in 5 s steps) and a 0.05 s interval. */
function runWait(script: string, deadline: number, env: Record<string, string> = {}) {
  const original = /-ge (\d+) \]/.exec(script)![1];
  const fast = script
    .replace(`-ge ${original} ]`, `-ge ${deadline} ]`)
    .replaceAll(`${original}s`, `${deadline}s`)
    .replace(/sleep 5$/m, 'sleep 0.05');
  const r = spawnSync('sh', ['-c', fast], { env: { PATH: `${bin}:/usr/bin:/bin`, STATE: bin, ...env }, encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('wait-for-migrate', () => {
  // alembic logs INFO lines on stderr, as with the default alembic.ini; `current` reads a state file.
  const alembic = () =>
    standIn(
      'alembic',
      [
        'echo "INFO  [alembic.runtime.migration] Context impl PostgresqlImpl." >&2',
        'if [ -f "$STATE/refused" ]; then echo "sqlalchemy.exc.OperationalError: connection to server at \\"postgres\\" (10.96.0.7), port 5432 failed: Connection refused" >&2; exit 1; fi',
        'case "$1" in',
        '  current) cat "$STATE/current" 2>/dev/null ;;',
        '  heads) echo "b2c3d4e5f6a7 (head)" ;;',
        'esac',
      ].join('\n'),
    );

  it('releases the pod once the database is at the head revision, ignoring alembic log lines', () => {
    alembic();
    fs.writeFileSync(path.join(bin, 'current'), 'b2c3d4e5f6a7 (head)\n');
    const r = runWait(waitForMigrate, 900);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('migrate to complete: ready');
  });

  it('says which revision the database is at while it waits, and gives up at the deadline', () => {
    alembic();
    fs.writeFileSync(path.join(bin, 'current'), 'a1b2c3d4e5f6\n');
    const r = runWait(waitForMigrate, 10);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('waiting for migrate to complete');
    expect(r.stdout).toContain('database at revision a1b2c3d4e5f6, migrations head is b2c3d4e5f6a7');
    expect(r.stderr).toContain('gave up after 10s waiting for migrate to complete. Job migrate has not done its work: see kubectl logs -l app.kubernetes.io/name=migrate');
  });

  it("shows alembic's own error (a refused connection), not only that it waits", () => {
    alembic();
    fs.writeFileSync(path.join(bin, 'refused'), '');
    try {
      const r = runWait(waitForMigrate, 10);
      expect(r.status).toBe(1);
      expect(r.stdout).toContain('port 5432 failed: Connection refused');
      expect(r.stderr).toContain('Last check said: sqlalchemy.exc.OperationalError');
    } finally {
      fs.rmSync(path.join(bin, 'refused'));
    }
  });

  it('treats a database with no revision yet as not migrated', () => {
    alembic();
    fs.writeFileSync(path.join(bin, 'current'), '');
    const r = runWait(waitForMigrate, 10);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('database at revision none: the migration has not run yet');
  });
});

describe('wait-for-<server> in run-once pods', () => {
  it('retries pg_isready until the server accepts connections (the first attempts refused, as in a new pod)', () => {
    // Fails twice (no response), then accepts: counts attempts in a file.
    standIn('pg_isready', 'n=$(cat "$STATE/pg" 2>/dev/null || echo 0); echo $((n+1)) > "$STATE/pg"; if [ "$n" -lt 2 ]; then echo "postgres:5432 - no response"; exit 2; fi; echo "postgres:5432 - accepting connections"');
    const r = runWait(waitForPostgres, 60);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout.match(/waiting for postgres at postgres:5432/g)).toHaveLength(2);
    expect(r.stdout).toContain('postgres:5432 - no response');
    expect(fs.readFileSync(path.join(bin, 'pg'), 'utf8').trim()).toBe('3');
  });

  it('takes an authentication error from Redis as an answer, and a refused connection as no answer', () => {
    standIn('redis-cli', 'echo "NOAUTH Authentication required."');
    expect(runWait(waitForRedis, 60).status).toBe(0);
    standIn('redis-cli', 'echo "Could not connect to Redis at redis:6379: Connection refused"; exit 1');
    const r = runWait(waitForRedis, 1);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('gave up after 1s waiting for redis at redis:6379. Check that redis is running');
    expect(r.stderr).toContain('a NetworkPolicy admits worker to it');
  });

  it('gives run-once pods a deadline shorter than their own active deadline', () => {
    const cron = find(objs, 'CronJob', 'worker');
    const deadline = Number(/-ge (\d+) \]/.exec(waitForPostgres)![1]);
    expect(deadline).toBe(300);
    expect(deadline).toBeLessThan(cron.spec.jobTemplate.spec.activeDeadlineSeconds);
    expect(deadline).toBeLessThan(find(objs, 'Job', 'migrate').spec.activeDeadlineSeconds);
  });
});
