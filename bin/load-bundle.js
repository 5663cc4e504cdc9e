// Runs one of the bundles in lib/ with V8's code cache: lib/<bundle>.v8cache holds the compiled
// code of a run made at build time, so a command starts without compiling most of its functions
// again (what Node 22's module.enableCompileCache does, which Node 20 lacks). A cache from another
// Node or V8 is rejected by V8 itself and the bundle is compiled as usual: the cache only saves time.
// V8 checks only the source's length, so a rebuilt bundle of the same length would run the old
// compiled functions: the cache file starts with the SHA-256 of the bundle it was made from.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');
const { createHash } = require('node:crypto');

module.exports = function loadBundle(name) {
  const file = path.join(__dirname, '..', 'lib', name);
  const cacheFile = `${file}.v8cache`;
  const source = fs.readFileSync(file, 'utf8');
  const digest = createHash('sha256').update(source).digest();
  let cachedData;
  try {
    const raw = fs.readFileSync(cacheFile);
    cachedData = raw.subarray(0, 32).equals(digest) ? raw.subarray(32) : undefined;
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  // The build writes the cache after a full run, so it holds the functions that run compiled too.
  const writeTo = process.env.STACKPORT_WRITE_V8CACHE;
  if (writeTo) process.on('exit', () => fs.writeFileSync(writeTo, Buffer.concat([digest, script.createCachedData()])));
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  return mod.exports;
};
