/**
 * libmime, loaded on first use. Compiling a script needs none of it, and
 * loading it (with iconv-lite's charset tables) was a sizeable part of
 * `smtp-cbv check`'s start-up; a run that meets an encoded word loads it
 * once per process. libmime ships a CommonJS build, so the first use can
 * load it synchronously.
 */
import { createRequire } from 'node:module';
import type Libmime from 'libmime';

let loaded: typeof Libmime | undefined;

export function libmime(): typeof Libmime {
  return (loaded ??= createRequire(import.meta.url)('libmime') as typeof Libmime);
}
