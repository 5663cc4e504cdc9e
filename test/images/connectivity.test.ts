/** The connectivity stand-in's own Go tests (env parsing, prober, HTTP endpoints), run with the pinned toolchain rules. */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = path.join(__dirname, '..', '..', 'images', 'connectivity');
const haveGo = spawnSync('go', ['version'], { stdio: 'ignore' }).status === 0;
const inCI = !!process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase());

describe.skipIf(!haveGo && !inCI)('images/connectivity', () => {
  it('go vet and go test pass', () => {
    const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod', CGO_ENABLED: '0' };
    for (const args of [['vet', './...'], ['test', '-count=1', './...']]) {
      const r = spawnSync('go', args, { cwd: dir, env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `go ${args.join(' ')}\n${r.stdout}${r.stderr}${r.error ?? ''}`).toBe(0);
    }
  }, 180_000);
});
