/**
 * What a Sieve parse is told: the dialect and the size limits.
 */

export type Dialect = 'momentum' | 'rfc';

/** Parser limits. The defaults are Pigeonhole's (sieve-limits.h). */
export interface ParseLimits {
  /** Largest script accepted, in bytes. */
  maxScriptSize: number;
  maxIdentifierLength: number;
  maxArguments: number;
  maxBlockNesting: number;
  maxTestNesting: number;
  /** Largest string literal, in bytes. */
  maxStringLength: number;
}

export const defaultParseLimits: Readonly<ParseLimits> = Object.freeze({
  maxScriptSize: 1 << 20,
  maxIdentifierLength: 32,
  maxArguments: 32,
  maxBlockNesting: 32,
  maxTestNesting: 32,
  maxStringLength: 1 << 20,
});

/** The longest identifier the momentum dialect accepts (Momentum's function names run past 32 characters). */
export const MOMENTUM_MAX_IDENTIFIER = 128;

/** What the parser is told about the current parse. */
export interface ParseSettings {
  dialect: Dialect;
  limits: ParseLimits;
}
