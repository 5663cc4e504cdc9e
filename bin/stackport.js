#!/usr/bin/env node
// The `stackport` command. The CLI is TypeScript; tsx's require hook runs it without a build step,
// so `npx stackport` works right after `npm ci`.
require('tsx/cjs');
// Output piped into `head` closes early; that is not an error.
process.stdout.on('error', (e) => (e.code === 'EPIPE' ? process.exit(process.exitCode ?? 0) : Promise.reject(e)));
process.exitCode = require('../cli.ts').main(process.argv.slice(2));
