/**
 * re2js, loaded on first use. It is a quarter-megabyte module that only
 * scripts with regular expressions need, and loading it was a tenth of
 * `smtp-cbv check`'s start-up (docs/architecture.md "Start-up"). Its
 * CommonJS build (the package's `require` export, the same release) loads
 * synchronously, so matching stays synchronous. Every user goes through
 * here: one copy of the module, whose engines regex-match.ts instruments.
 */
import { createRequire } from 'node:module';

type Re2js = typeof import('re2js');

let loaded: Re2js | undefined;

export function re2js(): Re2js {
  return (loaded ??= createRequire(import.meta.url)('re2js') as Re2js);
}
