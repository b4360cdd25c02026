#!/usr/bin/env node
// The CLI runs the compiled JavaScript in dist/ (built by `npm run build`,
// which `npm install`, `npm start` and `npm test` all run first): tsc's
// output joined into one CommonJS file by scripts/bundle-cli.mjs and run
// with the V8 code cache saved next to it, which starts faster than the
// ~110 modules it holds (docs/architecture.md "Start-up"). This file is
// CommonJS (bin/package.json): an ES module entry point would start Node's
// ES module loader, and its streams, for nothing.
'use strict';
const { join } = require('node:path');
const { loadBundle } = require('../dist/cli/loader.cjs');

const { main } = loadBundle(join(__dirname, '..', 'dist', 'cli', 'main.cjs')).exports;
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
