/**
 * The Sieve core's public surface: what the session, the runner, delivery
 * and the CLI import. Everything else under src/sieve is internal to the
 * core and to the language layered on it (src/sievepp).
 */
export { type CompiledScript, type CompileOptions, type CompileResult, compileSieve, compileSieveFile, registryFor } from './compile.js';
export type { LanguageLayer } from './language.js';
export { ExtensionRegistry } from './extension-registry.js';
export { extensions } from './extensions/index.js';
export { DEFAULT_SLICE_MS, type ExecuteOptions, type ExecutionResult, execute, executeAsync, executeSequence } from './interpreter.js';
export type { Bound, CommandDef, Extension, MaybePromise, TagSpec, Value } from './registry.js';
export { type SieveMessage, lazyMessage, parseMessage } from './runtime/message.js';
export { hostOctets, type Octets } from './runtime/octets.js';
export type { Action, RuntimeError } from './runtime/result.js';
export { normalizeListName } from './extensions/extlists.js';
export { type DuplicateRecord, duplicateKey, duplicateRecords } from './extensions/duplicate.js';
export { defaultRuntimeLimits, type RuntimeLimits } from './runtime/limits.js';
export type { Envelope, ExecutionContext, ExternalList, SieveHost } from './runtime/host.js';
export type { Runtime } from './runtime/runtime.js';
export type { TraceEvent, TraceHook } from './runtime/trace.js';
export { composeRedirect, type OutgoingMessage } from './redirect-out.js';
export { composeVacationReply, type VacationReply } from './vacation-reply.js';
export { composeNotifications, type NotifyHostOptions } from './notify-out.js';
export type { ScriptFacts } from './facts.js';
export type { TestOutcome } from './testsuite/state.js';
export type { SvtestReport } from './testsuite/runner.js';
