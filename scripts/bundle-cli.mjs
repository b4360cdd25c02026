/**
 * Bundles the command line (dist/src/cli/main.js, as tsc built it) into
 * dist/cli/, which bin/smtp-cbv.js runs. Why: after every subcommand loads
 * only its own modules, what remained of `smtp-cbv check`'s start-up was
 * mostly Node's ES module loader resolving, reading and linking some 110 of
 * our modules one by one (docs/architecture.md "Start-up"); the same code in
 * a handful of files starts faster.
 *
 * - tsc stays the compiler (and the type checker); esbuild only joins its
 *   output, reading tsc's source maps so that stack traces under
 *   --enable-source-maps still name the TypeScript sources.
 * - Code splitting keeps each subcommand's `await import(...)` lazy: `check`
 *   loads main, its own chunk and the Sieve compiler's, never the server's.
 * - The match worker (src/sieve/match/match-worker.ts) is an entry point
 *   of its own, dist/cli/match-worker.js: match-pool.ts starts it from the
 *   file next to the chunk it was bundled into.
 * - Packages stay external: a bundled file would hoist every package import
 *   to its top (loading pino, smtp-server... for `check`), and some packages
 *   find files next to their own (better-sqlite3's addon, pino's transports).
 */
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');
rmSync(outdir, { recursive: true, force: true }); // no chunks left over from an earlier build

await build({
  entryPoints: { main: join(root, 'dist', 'src', 'cli', 'main.js'), 'match-worker': join(root, 'dist', 'src', 'sieve', 'match', 'match-worker.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
