#!/usr/bin/env node
// The CLI runs the compiled JavaScript in dist/ (built by `npm run build`,
// which `npm install`, `npm start` and `npm test` all run first).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
