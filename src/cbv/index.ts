/** The CBV engine's public surface, for the session and the Sieve++ function. */
export { createCbvEngine, type CbvEngine, type VerifyOptions } from './engine.js';
export { DEFAULTS, type CbvOptions } from './options.js';
export { MemoryStore, type CbvStore, type CacheEntry } from './cache.js';
export { classifyAddress, checkTarget, parseCidrs } from './guard.js';
export type { CbvReason, CbvResult, CbvStage, CbvStatus, TranscriptLine, Verdict } from './types.js';
export { contextVariables, sieveReturn } from './context.js';
