/**
 * The CPU budget of a run (Pigeonhole's sieve_max_cpu_time): work counted
 * in units, the clock read now and then, and the time slices a run yields
 * in (docs/sieve-interpreter.md, "CPU budget and time slices").
 */
import type { Position } from '../../diagnostics.js';
import type { MatchBudget } from '../match/match-types.js';
import { SieveLimitExceeded } from './signals.js';
import { WaitCollections } from './wait-collections.js';

/**
 * Work is charged in units of about a character scanned; a step (one
 * command or test) costs this many. The clock is read once per
 * CLOCK_UNITS units: often enough that the budget holds within a few
 * milliseconds, rarely enough that reading it costs nothing measurable.
 */
export const STEP_UNITS = 256;
const CLOCK_UNITS = 8192;

/**
 * The CPU time of one run (Pigeonhole's sieve_max_cpu_time), counted only
 * while the run computes: time spent waiting for a host look-up, or for
 * other sessions while the run is suspended (time slices), is not the
 * script's. Long loops inside tests charge it too (matching many values
 * against many keys, scanning a body, re2js's steps), so a single test
 * cannot outrun the budget. It also tells a time-sliced run when its
 * slice is over (`yieldDue`).
 */
export class CpuBudget implements MatchBudget {
  private used = 0;
  private since = performance.now();
  private running = true;
  private credit = CLOCK_UNITS;
  /** Length of a time slice in ms; 0: the run never yields. */
  sliceMs = 0;
  private sliceStart = this.since;
  /** Set when the current slice is over: the interpreter yields at its next chance. */
  yieldDue = false;
  /** How many times the run yielded (for tests and logs). */
  slices = 0;
  /** The step being evaluated: where an over-budget error points. */
  at: Position | undefined;

  constructor(
    readonly maxMs: number,
    /** Charge the collections in the turns the run yields (wait-collections.ts); off only where time itself is faked. */
    private readonly chargeCollections = true,
  ) {}

  /** Counts `units` of work; throws the runtime error when the budget is spent. */
  charge(units: number, pos?: Position): void {
    if ((this.credit -= units) <= 0) this.check(pos);
  }

  /** Reads the clock: over budget is a runtime error (RFC 5228 2.10.6). */
  check(pos?: Position): void {
    this.credit = CLOCK_UNITS;
    if (this.collections) this.used += this.collections.take();
    const now = performance.now();
    if (this.running && this.used + (now - this.since) > this.maxMs) this.exceeded(pos);
    if (this.sliceMs > 0 && now - this.sliceStart >= this.sliceMs) this.yieldDue = true;
  }

  private exceeded(pos?: Position): never {
    throw new SieveLimitExceeded(`execution exceeded the CPU time limit of ${this.maxMs} ms`, pos ?? this.at);
  }

  /** What is left of the budget, in ms. */
  get remainingMs(): number {
    return this.maxMs - this.usedMs;
  }

  /** Counts `ms` the run's work took elsewhere (a match in a worker thread); throws when the budget is spent. */
  spend(ms: number): void {
    this.used += ms;
    if (this.usedMs > this.maxMs) this.exceeded();
  }

  /** CPU time used so far, in ms. */
  get usedMs(): number {
    return this.used + (this.running ? performance.now() - this.since : 0);
  }

  /**
   * The run waits (a host Promise, a yielded slice): stop counting.
   * `yielding`: the wait is a turn the run lets other sessions have (its
   * slice is over, the MIME reader's chunk is done), in which V8's
   * collection work is charged to the run. Idempotent.
   */
  suspend(yielding = false): void {
    if (!this.running) return;
    this.used += performance.now() - this.since;
    this.running = false;
    if (yielding && this.chargeCollections) {
      (this.collections ??= new WaitCollections()).began();
      this.inTurn = true;
    }
  }
  private inTurn = false;

  /**
   * Collections V8 did in the turns this run yielded, charged to it
   * (wait-collections.ts); made at its first yield. Only the yields: a wait
   * for a host Promise (a CBV probe, seconds long) would take in every
   * other session's collections.
   */
  private collections: WaitCollections | undefined;

  /** Ends the slice: lets the event loop run timers and I/O, then goes on. */
  pause(): Promise<void> {
    this.suspend(true);
    this.slices++;
    // setImmediate runs after the poll phase: every timer and socket that is
    // ready gets its turn before the run computes again.
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.resume());
  }

  /** The run computes again: count from now, with a fresh slice. Idempotent. */
  resume(): void {
    if (this.running) return;
    if (this.inTurn) {
      this.collections!.ended();
      this.inTurn = false;
    }
    this.running = true;
    this.since = this.sliceStart = performance.now();
    this.yieldDue = false;
  }
}
