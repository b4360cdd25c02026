/**
 * Random values for scripts (enclose's boundaries and Message-IDs,
 * Sieve++'s random function), with node:crypto required on first use:
 * loading it (and the streams it loads) was part of every `smtp-cbv check`,
 * which never needs it (docs/architecture.md "Start-up").
 */
import { createRequire } from 'node:module';

type Crypto = typeof import('node:crypto');
let loaded: Crypto | undefined;
const crypto = (): Crypto => (loaded ??= createRequire(import.meta.url)('node:crypto') as Crypto);

/** `bytes` random bytes in lower-case hexadecimal. */
export const randomHex = (bytes: number): string => crypto().randomBytes(bytes).toString('hex');

/** A random integer in [0, max) (crypto.randomInt: max at most 2^48 - 1). */
export const randomBelow = (max: number): number => crypto().randomInt(max);
