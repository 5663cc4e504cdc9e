// The commands run compiled JavaScript from lib/. In a clone, `npm ci` builds it (the `prepare`
// script); after an edit or a `git pull` a source is newer than the build, and the launcher rebuilds
// first rather than run stale code. An installed package ships no sources and skips the check.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const lib = path.join(root, 'lib');
const stamp = path.join(lib, '.built');
const lock = path.join(root, '.lib-build.lock');
const SOURCES = ['index.ts', 'main.ts', 'cli.ts', 'charts', 'model', 'importer', 'graph', 'imports', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

/** Newest modification time under p; directories count too, so a deleted or renamed file shows. */
function newest(p) {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of fs.readdirSync(p)) m = Math.max(m, newest(path.join(p, e)));
  return m;
}

function stale() {
  const built = fs.statSync(stamp, { throwIfNoEntry: false });
  return !built || SOURCES.some((s) => newest(path.join(root, s)) > built.mtimeMs);
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Compiles lib/ with tsc (typechecked; incremental). One build at a time: others wait for it. */
function build(log = (m) => process.stderr.write(`${m}\n`)) {
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      fs.mkdirSync(lock);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (Date.now() > deadline) throw new Error(`stackport: ${lock} has been held for 5 minutes; remove it if no build is running`);
      sleep(200);
      if (!stale()) return;
    }
  }
  try {
    if (!stale()) return;
    log('stackport: compiling lib/ from the TypeScript sources (npm run build)');
    execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
  } finally {
    fs.rmdirSync(lock);
  }
}

/** Rebuilds lib/ when this is a clone whose sources changed since the last build. */
function ensureBuilt() {
  if (!fs.existsSync(path.join(root, 'tsconfig.build.json'))) return; // an installed package
  if (stale()) build();
}

module.exports = { build, ensureBuilt };

if (require.main === module) {
  try {
    // `npm run build` always compiles (tsc is incremental, so an unchanged tree is quick).
    if (fs.existsSync(stamp)) fs.rmSync(stamp);
    build();
  } catch (e) {
    process.stderr.write(`${e.message.split('\n')[0]}\n`);
    process.exit(1);
  }
}
