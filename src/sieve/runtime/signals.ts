/**
 * What ends a run or a script early, thrown through the interpreter: a
 * runtime error, `stop` (RFC 5228 3.3) and `return` (RFC 6609 3.3).
 */
import type { Position } from '../../diagnostics.js';

/** Raised inside the interpreter and turned into a value at execute's boundary. */
export class SieveRuntimeFailure extends Error {
  constructor(
    message: string,
    readonly pos?: Position,
  ) {
    super(message);
  }
}

/**
 * A run that reached one of its limits (CPU time, steps, a match worker's
 * memory): a runtime error no language may let a script go on past, since
 * the limits are what keeps one run from holding the others
 * (docs/sieve-interpreter.md).
 */
export class SieveLimitExceeded extends SieveRuntimeFailure {}

/** `stop` (RFC 5228 3.3): ends the run, not an error. */
export class StopSignal {
  static readonly instance = new StopSignal();
}

/** `return` (RFC 6609 3.3): ends the current script; at the top it ends the run like stop. */
export class ReturnSignal {
  static readonly instance = new ReturnSignal();
}
