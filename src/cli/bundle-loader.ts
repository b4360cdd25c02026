/**
 * Runs the command-line bundle (dist/cli/main.cjs, built by
 * scripts/bundle-cli.mjs) with V8's code cache: the bytecode of every
 * function a `check` ran, saved at build time next to the bundle. Without
 * it V8 compiles each of those functions on first call (Chevrotain's
 * grammar analysis, the extension registry...), which was the largest part
 * of `smtp-cbv check`'s start-up left (docs/architecture.md "Start-up").
 * Node 22's module.enableCompileCache does the same for modules; Node 20
 * has only vm.Script's `cachedData`, hence a CommonJS bundle run here.
 *
 * A cache V8 refuses (another Node or V8 flags, a rebuilt bundle) only
 * costs the compilation; with source maps on, the bundle is required the
 * ordinary way, so that stack traces name the TypeScript sources.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname } from 'node:path';
import vm from 'node:vm';

export interface LoadedBundle<T> {
  exports: T;
  /** Writes the code cache of what has run so far (build time only). */
  saveCache(): void;
  /** Whether V8 took the saved cache (false too when there was none). */
  cacheUsed: boolean;
}

export const cacheFileOf = (bundle: string) => `${bundle}.cache`;

export function loadBundle<T>(bundle: string): LoadedBundle<T> {
  const require = createRequire(bundle);
  if (process.sourceMapsEnabled) return { exports: require(bundle) as T, saveCache: () => {}, cacheUsed: false };
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFileOf(bundle));
  } catch {
    // No cache: compile as usual.
  }
  // Read as Latin-1, which for the bundle's ASCII (scripts/bundle-cli.mjs refuses any other octet) is
  // the same text: Node 20's UTF-8 read of the 1.6 MB bundle took 26 ms of a 0.2 s check, a Latin-1
  // copy of its octets well under one (docs/architecture.md "Start-up").
  const script = new vm.Script(Module.wrap(readFileSync(bundle, 'latin1')), {
    filename: bundle,
    cachedData,
    // The bundle's import() goes to Node's own loader, but only when the bundle is compiled without
    // the cache: from a cache made by another process Node 20 loses this callback, so the bundle
    // imports no package (scripts/bundle-cli.mjs refuses one that does).
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} as T, filename: bundle, id: bundle, loaded: false };
  (script.runInThisContext() as (...args: unknown[]) => void).call(module.exports, module.exports, require, module, bundle, dirname(bundle));
  module.loaded = true;
  return {
    exports: module.exports,
    cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
    saveCache() {
      const file = cacheFileOf(bundle);
      writeFileSync(`${file}.tmp`, script.createCachedData());
      renameSync(`${file}.tmp`, file);
    },
  };
}
