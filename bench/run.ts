/**
 * `npm run bench`: runs every benchmark in its own process, one after the
 * other, so that one benchmark's garbage and JIT state do not colour the
 * next. Each benchmark prints its own results, always as a ratio against a
 * baseline it measures in the same run: absolute numbers vary by machine.
 *
 * It runs the compiled JavaScript in dist/bench (what ships), not the
 * TypeScript through a loader: tsx wraps every closure in a naming helper,
 * which made the parser look four times slower than it is.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const file of files) {
  process.stdout.write(`\n# ${file}\n`);
  const r = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exitCode = failed ? 1 : 0;
