/** The configuration loader: Momentum's ecelerity.conf syntax into a typed Config. */
export { type LoadResult, type ScriptReference, checkConfigFile, loadConfig, parseConfigText, referencedScripts } from './load.js';
export { peerContext, peerLimits } from './context.js';
export { DEFAULT_LISTEN } from './build.js';
export type * from './types.js';
export { cbvEngineOptions } from './cbv-options.js';
