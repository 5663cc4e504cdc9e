#!/usr/bin/env node
// The cdk8s app (cdk8s.yaml) and `npm run synth`: main.ts, compiled (see ensure-built.js for clones).
'use strict';
require('./ensure-built').ensureBuilt();
require('../lib/main.js');
