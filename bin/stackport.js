#!/usr/bin/env node
// The `stackport` command: compiled JavaScript from lib/ (see ensure-built.js for clones).
'use strict';
require('./ensure-built').ensureBuilt();
// Output piped into `head` closes early; that is not an error.
process.stdout.on('error', (e) => (e.code === 'EPIPE' ? process.exit(process.exitCode ?? 0) : Promise.reject(e)));
const cli = require('./load-bundle')('stackport.cjs');
// Whatever escapes the command (a rejected promise included) is reported in one line, never as a stack trace.
const fatal = (e) => {
  process.exitCode = cli.reportError(e);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
Promise.resolve()
  .then(() => cli.main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  }, fatal);
