/**
 * RFC 2047 decoding and encoding of one large header value, and reading the
 * first address of one (codec-ops.ts), in a worker thread
 * (match/match-pool.ts), for a run that can wait: libmime does either in
 * one call that cannot be split into slices, some 200 ms a megabyte when a
 * long run of encoded-words is joined into one, and an address list is
 * parsed whole (70-85 ms a megabyte), which on the event loop would hold
 * every other session that long
 * (docs/sieve-interpreter.md, "CPU budget and time slices"). As with a
 * match in a worker, the run copies its value out on its own clock, its
 * clock stops at the hand-off, the round trip is charged to the run's
 * budget ("What an offload costs"), and when the budget is spent first
 * the worker is stopped and the run ends with the budget's runtime error.
 * The worker runs codec-ops.ts's functions, so the value is the same.
 */
import { type CodecTask, matchPool, OFFLOAD_CHARS, outOfMemory, prepare } from '../match/match-pool.js';
import type { MatchBudget } from '../match/match-types.js';
import { CODEC_OPS } from './codec-ops.js';
import { needsEncoding } from './rfc2047.js';

/** A value this long is decoded or encoded in a worker when the run can wait (as large values are matched). */
export const CODEC_OFFLOAD_CHARS = OFFLOAD_CHARS;

/** True when `value` is worth a worker: a run that can wait, and a large value. */
export function inWorker(value: string, budget: Pick<MatchBudget, 'sliceMs'>): boolean {
  return budget.sliceMs > 0 && value.length >= CODEC_OFFLOAD_CHARS;
}

/** True when decoding `raw` is worth a worker: a run that can wait, a large value, an encoded-word in it. */
export function decodesInWorker(raw: string, budget: Pick<MatchBudget, 'sliceMs'>): boolean {
  return inWorker(raw, budget) && raw.includes('=?');
}

/** True when encoding `value` is worth a worker: a run that can wait, a large value, a character to encode in it. */
export function encodesInWorker(value: string, budget: Pick<MatchBudget, 'sliceMs'>): boolean {
  return inWorker(value, budget) && needsEncoding(value);
}

/**
 * The task's value computed in a worker, its first `keep` characters when
 * it says; here, in one step, when no worker can be had.
 */
export async function codecInWorker(task: CodecTask, budget: MatchBudget): Promise<string> {
  budget.spend(0); // over budget already: stop before sending anything
  // From here the time is the offload's (its round trip, the copy of the value included).
  const prepared = prepare(task);
  budget.suspend();
  const a = await matchPool.codec(prepared, budget.remainingMs);
  // The run waited (its clock stopped); what follows is its own work again.
  budget.resume();
  if (a.kind === 'unavailable') {
    const text = CODEC_OPS[task.op](task.value);
    return task.keep === undefined ? text : text.slice(0, task.keep);
  }
  budget.spend(a.ms);
  if (a.kind === 'done') return a.text;
  if (a.kind === 'memory') throw outOfMemory(prepared.chars);
  // Stopped at the deadline: the budget is spent, whatever the clocks say (spend throws the runtime error).
  budget.spend(Math.max(1, budget.remainingMs + 1));
  throw new Error('unreachable: the budget is spent');
}
