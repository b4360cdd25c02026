/**
 * Bundles the command line (dist/src/cli/main.js, as tsc built it) into one
 * CommonJS file, dist/cli/main.cjs, and saves V8's code cache for it;
 * bin/smtp-cbv.js runs the two through src/cli/bundle-loader.ts (bundled
 * as dist/cli/loader.cjs). Why
 * (docs/architecture.md "Start-up"): after every subcommand loaded only its
 * own modules, `smtp-cbv check`'s start-up was Node's ES module loader
 * resolving, reading and linking our modules one by one, then V8 compiling
 * every function the check ran. One script, with the bytecode of those
 * functions cached, does neither.
 *
 * - tsc stays the compiler (and the type checker); esbuild only joins its
 *   output, reading tsc's source maps so that stack traces under
 *   --enable-source-maps still name the TypeScript sources.
 * - Every subcommand's `await import(...)` stays lazy: esbuild runs a
 *   module's body only when something first imports it, so `check` never
 *   evaluates the server's modules nor requires their packages.
 * - Packages stay external (required when a module that needs them runs),
 *   because some find files next to their own (better-sqlite3's addon,
 *   pino's transports). Two are bundled, the two every `check` loads:
 *   commander (five CommonJS files, and node:child_process, which it
 *   requires at load for executable subcommands, of which smtp-cbv has
 *   none: here it is required on first use) and chevrotain's single-file
 *   bundle (grammars/chevrotain.ts finds it at run time, which esbuild
 *   cannot follow: the bundle imports it directly).
 * - The code cache is what a run of `check` on a one-line script compiled,
 *   made by this process (the same Node as the binary's). V8 refuses a
 *   cache from another Node or other V8 flags; then the bundle is compiled
 *   as usual.
 * - The match worker (src/sieve/match/match-worker.ts) is a bundle of its
 *   own, dist/cli/match-worker.cjs: match-pool.ts starts it from the file
 *   next to the bundle it was built into.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');
const bundle = join(outdir, 'main.cjs');
rmSync(outdir, { recursive: true, force: true }); // nothing left over from an earlier build

const requireHere = createRequire(import.meta.url);
const commanderDir = dirname(requireHere.resolve('commander'));
const chevrotainBundle = join(dirname(requireHere.resolve('chevrotain')), '..', 'chevrotain.mjs');

/** The two bundled packages, and the lazy child_process. */
const startupPlugin = {
  name: 'smtp-cbv-startup',
  setup(b) {
    // Only commander's own require of child_process becomes lazy.
    b.onResolve({ filter: /^commander$|^node:child_process$/ }, (args) => {
      if (args.path === 'commander') return { path: join(commanderDir, 'index.js') };
      return args.importer.startsWith(commanderDir) ? { path: 'lazy-child-process', namespace: 'smtp-cbv-startup' } : undefined;
    });
    b.onLoad({ filter: /^lazy-child-process$/, namespace: 'smtp-cbv-startup' }, () => ({
      contents: `let m; const get = () => (m ??= require('node:child_process'));
module.exports = new Proxy({}, { get: (_, k) => get()[k], has: (_, k) => k in get() });`,
      loader: 'js',
    }));
    b.onLoad({ filter: /[\\/]dist[\\/]grammars[\\/]chevrotain\.js$/ }, () => ({
      contents: `export * from ${JSON.stringify(chevrotainBundle)};`,
      loader: 'js',
    }));
  },
};

const common = { bundle: true, format: 'cjs', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning' };
// What bin/smtp-cbv.js (CommonJS) runs the bundle with.
await build({ ...common, entryPoints: [join(root, 'dist', 'src', 'cli', 'bundle-loader.js')], outfile: join(outdir, 'loader.cjs') });
await build({
  ...common,
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile: bundle,
  sourcemap: true,
  plugins: [startupPlugin],
  // A third smaller to read and hold at every start (docs/architecture.md "Start-up"). Identifiers
  // keep their names: stack traces, and code that reads a class's name, see what the sources say.
  minifyWhitespace: true,
  minifySyntax: true,
  // createRequire(import.meta.url) finds packages from the bundle's own place.
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// A package loaded by import() fails in the bundle once it runs from the code cache below: Node 20
// loses the bundle loader's dynamic-import callback for code from a cache that another process made
// ("A dynamic import callback was not specified"). Packages are required instead (src/auth/checks.ts).
// The loader reads the bundle as Latin-1 (src/cli/bundle-loader.ts): only ASCII reads the same either way.
// esbuild writes ASCII by default, escaping any other character in strings and regular expressions.
const nonAscii = readFileSync(bundle).findIndex((octet) => octet > 0x7f);
if (nonAscii >= 0) throw new Error(`the bundle has a non-ASCII octet at ${nonAscii}: the loader reads it as Latin-1 (scripts/bundle-cli.mjs)`);
const importsPackage = /\bimport\(\s*["'`](?![./])([^"'`]+)/.exec(readFileSync(bundle, 'utf8'));
if (importsPackage) throw new Error(`the bundle loads the package '${importsPackage[1]}' with import(): require it instead (scripts/bundle-cli.mjs)`);

// The match worker, a bundle of its own, found next to main.cjs (match-pool.ts).
await build({
  ...common,
  entryPoints: [join(root, 'dist', 'src', 'sieve', 'match', 'match-worker.js')],
  outfile: join(outdir, 'match-worker.cjs'),
  sourcemap: true,
  define: { 'import.meta.url': '__bundleUrl' },
  banner: { js: "var __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});

// The code cache: run `check` on a one-line script, silently, then save what V8 compiled.
const { loadBundle } = requireHere(join(outdir, 'loader.cjs'));
const loaded = loadBundle(bundle);
const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-bundle-'));
try {
  const script = join(dir, 'one.sieve');
  writeFileSync(script, 'keep;\n');
  const quiet = { out: () => {}, err: () => {} };
  const code = await loaded.exports.main(['check', script], quiet);
  if (code !== 0) throw new Error(`the warm-up check exited ${code}`);
  loaded.saveCache();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
