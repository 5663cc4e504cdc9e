/**
 * Invalid compose input: each folder of test/fixtures/compose-invalid holds the input and, in
 * error.txt, the exact message (file, line, service, key, why). Nothing may be written.
 * UPDATE_FIXTURES=1 rewrites error.txt (review the diff).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ComposeError } from '../../importer/load/errors';
import { runFixture } from './run-fixture';

const ROOT = join(__dirname, '..', 'fixtures', 'compose-invalid');
const UPDATE = process.env.UPDATE_FIXTURES === '1';

describe.each(readdirSync(ROOT).sort())('invalid compose %s', (name) => {
  const dir = join(ROOT, name);
  it('is refused with a message naming the file, the service and the key', async () => {
    let error: unknown;
    try {
      await runFixture(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ComposeError);
    const message = (error as Error).message.split(`${dir}/`).join('');
    const file = join(dir, 'error.txt');
    if (UPDATE || !existsSync(file)) writeFileSync(file, `${message}\n`);
    expect(`${message}\n`).toBe(readFileSync(file, 'utf8'));
  });
});

describe('stackport import on invalid input', () => {
  it('exits 1, prints the message on stderr and writes nothing', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'stackport-invalid-')), 'out');
    const r = spawnSync('node', ['bin/stackport.js', 'import', join(ROOT, 'unknown-key', 'compose.yaml'), '--out', out], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('compose.yaml:3:5: services.api.imagee: is not a compose key here');
    expect(existsSync(out)).toBe(false);
  });
});
