#!/usr/bin/env node
// The `stackport` command. The CLI is TypeScript; tsx's require hook runs it without a build step,
// so `npx stackport` works right after `npm ci`.
require('tsx/cjs');
process.exitCode = require('../cli.ts').main(process.argv.slice(2));
