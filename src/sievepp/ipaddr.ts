/**
 * ipaddr.js, loaded on first use: compiling a script needs none of it, and
 * `smtp-cbv check` starts faster without it. It ships a CommonJS build, so
 * the first use can load it synchronously.
 */
import { createRequire } from 'node:module';
import type Ipaddr from 'ipaddr.js';

let loaded: typeof Ipaddr | undefined;

export function ipaddr(): typeof Ipaddr {
  return (loaded ??= createRequire(import.meta.url)('ipaddr.js') as typeof Ipaddr);
}
