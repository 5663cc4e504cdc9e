/**
 * The check behind `wait-for-<job>` for Alembic migrations, run by a real POSIX shell against a fake
 * `alembic` that prints what real projects print: revisions on stdout, logs in whatever format and
 * stream the project's alembic.ini chose.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ALEMBIC_AT_HEAD } from '../../charts/waits';

const bin = mkdtempSync(join(tmpdir(), 'fake-alembic-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

// `alembic current|heads`: prints $FAKE_<CMD>_OUT on stdout, $FAKE_<CMD>_ERR on stderr, exits $FAKE_<CMD>_EXIT
// (and appends its subcommand to $FAKE_LOG when set).
writeFileSync(
  join(bin, 'alembic'),
  ['#!/bin/sh', '[ -z "${FAKE_LOG:-}" ] || echo "$1" >> "$FAKE_LOG"', 'case "$1" in current) p=CURRENT ;; heads) p=HEADS ;; *) exit 64 ;; esac', 'eval "printf \'%b\' \\"\\${FAKE_${p}_ERR:-}\\"" >&2', 'eval "printf \'%b\' \\"\\${FAKE_${p}_OUT:-}\\""', 'eval "exit \\${FAKE_${p}_EXIT:-0}"', ''].join('\n'),
);
chmodSync(join(bin, 'alembic'), 0o755);

const DEFAULT_LOG = 'INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.\\nINFO  [alembic.runtime.migration] Will assume transactional DDL.\\n';
const APP_LOG = '2026-12-03 11:03:31,120 INFO alembic.runtime.migration Context impl PostgresqlImpl.\\n2026-12-03 11:03:31,121 INFO alembic.runtime.migration Will assume transactional DDL.\\n';

function check(env: Record<string, string>): { code: number; out: string } {
  const r = spawnSync('sh', ['-c', ALEMBIC_AT_HEAD[2]], { env: { PATH: `${bin}:/usr/bin:/bin`, ...env }, encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}`.trim() };
}

describe('the alembic-at-head check of wait-for-<job>', () => {
  it('passes at head with alembic.ini default logging on stderr', () => {
    expect(check({ FAKE_CURRENT_ERR: DEFAULT_LOG, FAKE_CURRENT_OUT: '0001 (head)\\n', FAKE_HEADS_OUT: '0001 (head)\\n' }).code).toBe(0);
  });

  it('passes at head whatever format the application logs in, on either stream', () => {
    // What the example application does: env.py (run by `current`, not by `heads`) logs with asctime.
    expect(check({ FAKE_CURRENT_ERR: APP_LOG, FAKE_CURRENT_OUT: '0001 (head)\\n', FAKE_HEADS_OUT: '0001 (head)\\n' })).toEqual({ code: 0, out: '' });
    expect(check({ FAKE_CURRENT_ERR: APP_LOG, FAKE_CURRENT_OUT: '0001 (head)\\n', FAKE_HEADS_ERR: APP_LOG, FAKE_HEADS_OUT: '0001 (head)\\n' })).toEqual({ code: 0, out: '' });
    expect(check({ FAKE_CURRENT_OUT: `${APP_LOG}ae1027a6acf (head)\\n`, FAKE_HEADS_OUT: `${APP_LOG}ae1027a6acf (head)\\n` }).code).toBe(0);
    expect(check({ FAKE_CURRENT_OUT: `${DEFAULT_LOG}0001 (head)\\n`, FAKE_HEADS_OUT: '0001 (head)\\n' }).code).toBe(0);
  });

  it('passes with several heads when the database is at all of them, in any order', () => {
    const r = check({ FAKE_CURRENT_OUT: 'b2 (head)\\na1 (head)\\n', FAKE_HEADS_OUT: 'a1 (head)\\nb2 (head)\\n' });
    expect(r.code).toBe(0);
  });

  it('fails and says where the database is when it is behind or empty', () => {
    expect(check({ FAKE_CURRENT_ERR: APP_LOG, FAKE_CURRENT_OUT: '0001\\n', FAKE_HEADS_OUT: '0002 (head)\\n' })).toEqual({ code: 1, out: 'database at revision 0001, migrations head is 0002' });
    expect(check({ FAKE_CURRENT_ERR: APP_LOG, FAKE_CURRENT_OUT: '', FAKE_HEADS_OUT: '0002 (head)\\n' })).toEqual({ code: 1, out: 'database at revision none: the migration has not run yet' });
  });

  it('runs alembic once per check until the database has a revision, and shows a failure from that run', () => {
    const log = join(bin, 'calls.log');
    const counted = (env: Record<string, string>) => {
      rmSync(log, { force: true });
      const r = check({ ...env, FAKE_LOG: log });
      return { ...r, calls: spawnSync('sh', ['-c', `cat ${log} 2>/dev/null`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean) };
    };
    expect(counted({ FAKE_CURRENT_OUT: '', FAKE_HEADS_OUT: '0002 (head)\\n' }).calls).toEqual(['current']);
    expect(counted({ FAKE_CURRENT_ERR: 'could not connect\\n', FAKE_CURRENT_EXIT: '1' })).toEqual({ code: 1, out: 'could not connect', calls: ['current'] });
    expect(counted({ FAKE_CURRENT_OUT: '0001 (head)\\n', FAKE_HEADS_OUT: '0001 (head)\\n' })).toEqual({ code: 0, out: '', calls: ['current', 'heads'] });
  });

  it('fails with alembic\'s error, without its INFO lines, when alembic cannot connect', () => {
    const r = check({
      FAKE_CURRENT_ERR: `${APP_LOG}sqlalchemy.exc.OperationalError: connection to server at "postgres" (10.96.0.20), port 5432 failed: Connection refused\\n`,
      FAKE_CURRENT_EXIT: '1',
      FAKE_HEADS_OUT: '0001 (head)\\n',
    });
    expect(r.code).toBe(1);
    expect(r.out).toBe('sqlalchemy.exc.OperationalError: connection to server at "postgres" (10.96.0.20), port 5432 failed: Connection refused');
  });

  it('fails when there is no migration at all (an empty heads answer is not "at head")', () => {
    expect(check({ FAKE_CURRENT_OUT: '', FAKE_HEADS_OUT: '' }).code).toBe(1);
  });
});
