/**
 * The Sieve++ layer as the validator holds it (language.ts builds it): its
 * function registry and the phase scripts are bound to. A file of its own so
 * that functions can find their layer without importing the layer's builder.
 */
import type { LanguageLayer } from '../sieve/language.js';
import type { Validator } from '../sieve/validate.js';
import type { FunctionRegistry } from './functions.js';

export interface MomentumLanguage extends LanguageLayer {
  readonly functions: FunctionRegistry;
  /** The SMTP phase scripts are bound to, when known: phase-bound functions are checked now. */
  readonly phase: string | undefined;
  /** Context keys only the host writes (the server's variables): a script's write of a constant one is a compile error. */
  readonly readOnlyContextKey?: (key: string) => boolean;
}

/** The layer a script is being validated with (Sieve++ functions read their registry and phase here). */
export function languageOf(v: Validator): MomentumLanguage | undefined {
  const l = v.options.language as MomentumLanguage | undefined;
  return l && 'functions' in l ? l : undefined;
}
