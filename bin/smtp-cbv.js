#!/usr/bin/env node
// The CLI runs the compiled JavaScript in dist/ (built by `npm run build`,
// which `npm install`, `npm start` and `npm test` all run first): tsc's
// output joined into a few files by scripts/bundle-cli.mjs, which start
// faster than the ~110 modules they hold (docs/architecture.md "Start-up").
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
