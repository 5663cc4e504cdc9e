/**
 * One temporary folder per test run, removed at the end: every test (and every process a test
 * starts) that makes a temp folder makes it here, through TMPDIR, so a run leaves nothing in /tmp.
 * World-writable with the sticky bit, like /tmp, since the native tests run servers as uid 10999.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'stackport-test-run-'));
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
