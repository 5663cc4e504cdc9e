// The commands run compiled JavaScript from lib/. In a clone, `npm ci` builds it (the `prepare`
// script); after an edit or a `git pull` a source is newer than the build, and the launcher rebuilds
// first rather than run stale code. An installed package ships no sources and skips the check.
//
// The build is tsc (typechecked, lib/**/*.js and .d.ts: the library) and then esbuild, which bundles
// the command and the cdk8s app with their dependencies into one file each (lib/stackport.cjs,
// lib/main.cjs, from the same sources tsc checked), and a V8 code cache of each (load-bundle.js).
// One file instead of ~350 modules, and code already compiled, make synth fast.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.join(__dirname, '..');
const lib = path.join(root, 'lib');
const stamp = path.join(lib, '.built');
const lock = path.join(root, '.lib-build.lock');
const SOURCES = ['index.ts', 'main.ts', 'cli.ts', 'ops', 'charts', 'model', 'importer', 'graph', 'imports', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

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
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (abandoned()) continue;
      if (Date.now() > deadline) throw new Error(`stackport: ${lock} has been held for 5 minutes; remove it if no build is running`);
      sleep(200);
      if (!stale()) return;
    }
  }
  try {
    if (!stale()) return;
    log('stackport: compiling lib/ from the TypeScript sources (npm run build)');
    execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', path.join(root, 'tsconfig.build.json')], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    bundle();
    fs.writeFileSync(stamp, `${new Date().toISOString()}\n`);
    codeCaches();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * A lock whose build was killed (a timeout, Ctrl-C) would stop every later command: when the process
 * named in it is gone, or it names none after a minute, it is removed. True when it was.
 */
function abandoned() {
  let holder;
  try {
    holder = Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8'));
  } catch {
    const st = fs.statSync(lock, { throwIfNoEntry: false });
    if (!st || Date.now() - st.mtimeMs < 60_000) return false;
  }
  if (holder) {
    try {
      process.kill(holder, 0);
      return false;
    } catch (e) {
      if (e.code === 'EPERM') return false;
    }
  }
  fs.rmSync(lock, { recursive: true, force: true });
  return true;
}

/**
 * lib/cli.js, lib/main.js and the laptop commands (ops/) with everything they require, and the
 * licences of what was bundled. The laptop commands are a bundle of their own, which the command
 * loads only when one of them runs: synth and import never parse the Kubernetes client.
 */
function bundle() {
  const esbuild = require(path.join(root, 'node_modules', 'esbuild'));
  const packages = new Set();
  for (const [entry, outfile] of [['cli.ts', 'stackport.cjs'], ['main.ts', 'main.cjs'], ['ops/index.ts', 'ops.cjs']]) {
    const r = esbuild.buildSync({
      entryPoints: [path.join(root, entry)],
      outfile: path.join(lib, outfile),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      minify: true,
      legalComments: 'none',
      // import() of a Node builtin becomes require(): the bundle runs as a vm.Script (load-bundle.js).
      supported: { 'dynamic-import': false },
      metafile: true,
      // Metafile paths are relative to this folder; notices() joins them to root (the command may run anywhere).
      absWorkingDir: root,
      // cli.ts requires the laptop commands by this name (see OPS_MODULE there).
      define: { OPS_MODULE: '"./ops.cjs"' },
      external: ['./ops.cjs'],
      logLevel: 'warning',
    });
    for (const input of Object.keys(r.metafile.inputs)) {
      const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(input);
      if (m) packages.add(input.slice(0, input.lastIndexOf(`node_modules/${m[1]}/`) + `node_modules/${m[1]}`.length));
    }
  }
  fs.writeFileSync(path.join(lib, 'THIRD-PARTY-NOTICES.txt'), notices([...packages].sort()));
}

/** Runs each bundle once (a synth of the reference stack) and keeps V8's compiled code of the run. */
function codeCaches() {
  const out = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'stackport-build-'));
  try {
    for (const [launcher, args, bundle] of [
      ['synth.js', ['--out', out], 'main.cjs'],
      ['stackport.js', ['synth', '--spec', path.join(root, 'examples', 'dataplatform.stack.yaml'), '--out', out], 'stackport.cjs'],
    ]) {
      execFileSync(process.execPath, [path.join(__dirname, launcher), ...args], { cwd: root, stdio: 'ignore', env: { ...process.env, STACKPORT_WRITE_V8CACHE: path.join(lib, `${bundle}.v8cache`) } });
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Name, version, licence and licence text of each bundled package. */
function notices(dirs) {
  const parts = ['lib/stackport.cjs, lib/main.cjs and lib/ops.cjs include the following packages.\n'];
  for (const dir of dirs) {
    const meta = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
    const file = fs.readdirSync(path.join(root, dir)).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
    const text = file ? fs.readFileSync(path.join(root, dir, file), 'utf8').trim() : `(no licence file; package.json says ${meta.license})`;
    parts.push(`${'='.repeat(78)}\n${meta.name} ${meta.version} (${meta.license})\n\n${text}\n`);
  }
  return parts.join('\n');
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
