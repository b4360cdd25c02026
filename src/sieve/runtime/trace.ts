/**
 * Tracing a run: the hook the interpreter calls, when one is set
 * (Runtime.trace), for every command and test it evaluates.
 */
import type { Position } from '../../diagnostics.js';

/**
 * One step of a traced run (the dry-run runner's --trace and --coverage):
 * a command about to run, or a test with the result it gave.
 */
export type TraceEvent =
  | { kind: 'command'; name: string; pos: Position }
  | { kind: 'test'; name: string; pos: Position; result: boolean };

export type TraceHook = (event: TraceEvent) => void;
