#!/usr/bin/env node
// The cdk8s app (cdk8s.yaml) and `npm run synth`: main.ts, compiled and bundled (see ensure-built.js).
'use strict';
require('./ensure-built').ensureBuilt();
require('./load-bundle')('main.cjs');
