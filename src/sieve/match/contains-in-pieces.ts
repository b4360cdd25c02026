/**
 * RFC 5228 2.7.1 :contains over a value that arrives in pieces (a large
 * body read from where the host keeps it), so the value is never held
 * whole: a key is contained in the value exactly when it is contained in
 * some piece joined to the last (longest key - 1) characters before it.
 * Only for comparators that fold each character on its own
 * (Comparator.foldsEachCharacter): then folding the pieces is folding the
 * value.
 *
 * The scan is charged to the run's CPU budget a unit a character for each
 * key, and a time-sliced run lets the event loop go between keys once its
 * slice is over, as a match over a value in memory does (match-types.ts).
 * The clock stops while a piece is read.
 */
import type { Comparator } from './comparators.js';
import type { MatchBudget } from './match-types.js';

export async function containsInPieces(pieces: AsyncIterable<string>, keys: readonly string[], cmp: Comparator, budget: MatchBudget): Promise<boolean> {
  if (!cmp.fold || !cmp.foldsEachCharacter) throw new Error(`containsInPieces: ${cmp.name} does not fold character by character`);
  const fold = cmp.fold;
  const folded = [...new Set(keys.map(fold))];
  if (folded.length === 0) return false;
  // The empty string is contained in every value, the empty one too.
  if (folded.includes('')) return true;
  const overlap = Math.max(...folded.map((k) => k.length)) - 1;
  let tail = '';
  const reader = pieces[Symbol.asyncIterator]();
  try {
    for (;;) {
      budget.suspend();
      let next: IteratorResult<string>;
      try {
        next = await reader.next();
      } finally {
        budget.resume();
      }
      if (next.done) return false;
      const text = tail + fold(next.value);
      for (const key of folded) {
        if (text.includes(key)) return true;
        budget.charge(text.length);
        if (budget.yieldDue) await budget.pause();
      }
      tail = text.length > overlap ? text.slice(text.length - overlap) : text;
    }
  } finally {
    await reader.return?.();
  }
}
