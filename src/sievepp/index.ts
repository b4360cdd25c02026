/**
 * Momentum's Sieve++ on top of the Sieve core: what the rest of the
 * product imports (the compile entry, the function registry and its
 * helpers, the host and context types).
 */
export { builtinFunctions } from './builtins.js';
export { argNumber, argString, argValue, FunctionRegistry, SIEVEPP_CAPABILITY, type ParamSpec, type SieveFunction } from './functions.js';
export type { SieveHash, SieveValue } from './values.js';
export { compileSieve, compileSieveFile, type CompileOptions, MESSAGE_PHASES, registryFor } from './compile.js';
export type { MomentumContext, MomentumHost } from './host.js';
