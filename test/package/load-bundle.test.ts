/**
 * bin/load-bundle.js runs lib/ bundles with V8's code cache. V8 checks only a source's length, so a
 * rebuilt bundle of the same length must not run the compiled code of the old one.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'stackport-load-bundle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(bundle: string, writeCache: boolean): string {
  writeFileSync(join(dir, 'lib', 'x.cjs'), bundle);
  const env = { ...process.env, ...(writeCache ? { STACKPORT_WRITE_V8CACHE: join(dir, 'lib', 'x.cjs.v8cache') } : {}) };
  return execFileSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(join(dir, 'bin', 'load-bundle.js'))})('x.cjs').answer())`], { env, encoding: 'utf8' }).trim();
}

describe('the bundle loader', () => {
  it('ignores a code cache made from other source of the same length', () => {
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'lib'));
    copyFileSync(join(__dirname, '..', '..', 'bin', 'load-bundle.js'), join(dir, 'bin', 'load-bundle.js'));
    expect(run("exports.answer = () => 'old-1000';", true)).toBe('old-1000');
    expect(run("exports.answer = () => 'old-1000';", false)).toBe('old-1000');
    expect(run("exports.answer = () => 'new-1e4!';", false)).toBe('new-1e4!');
  });
});
