/**
 * RFC 5228 2.7.1 :contains over a value that arrives in pieces (a large
 * body read from where the host keeps it), so the value is never held
 * whole: a key is contained in the value exactly when it is contained in
 * some piece joined to the last (longest key - 1) characters before it.
 * Only for comparators that fold each character on its own
 * (Comparator.foldsEachCharacter): then folding the pieces is folding the
 * value, and a folded key is as long as the key.
 *
 * A few keys are looked for here, each piece as it comes: the scan is
 * charged to the run's CPU budget a unit a character for each key, and a
 * time-sliced run lets the event loop go between keys once its slice is
 * over, as a match over a value in memory does (match-types.ts). Many
 * keys make each piece long work: the pieces are then gathered into
 * windows and each window handed to `wide`, the host's matcher for a value
 * in memory, which matches a long one in a worker thread (match-pool.ts),
 * off the event loop every session shares. The clock stops while a piece
 * is read.
 */
import type { Comparator } from './comparators.js';
import type { MatchBudget } from './match-types.js';

/** Matches a value in memory against the keys (the same keys, comparator and match type); `chars`: the window it takes. */
export interface WideMatcher {
  chars: number;
  match(value: string): boolean | Promise<boolean>;
}

/** The next piece, the run's clock stopped while it is read (the wait is not the script's work). */
export async function nextPiece(reader: AsyncIterator<string>, budget: MatchBudget): Promise<IteratorResult<string>> {
  budget.suspend();
  try {
    return await reader.next();
  } finally {
    budget.resume();
  }
}

export async function containsInPieces(pieces: AsyncIterable<string>, keys: readonly string[], cmp: Comparator, budget: MatchBudget, wide?: WideMatcher): Promise<boolean> {
  if (!cmp.fold || !cmp.foldsEachCharacter) throw new Error(`containsInPieces: ${cmp.name} does not fold character by character`);
  const fold = cmp.fold;
  const folded = [...new Set(keys.map(fold))];
  if (folded.length === 0) return false;
  // The empty string is contained in every value, the empty one too.
  if (folded.includes('')) return true;
  const overlap = Math.max(...folded.map((k) => k.length)) - 1;
  const keep = (text: string) => (text.length > overlap ? text.slice(text.length - overlap) : text);
  let tail = '';
  let gathered: string[] = [];
  let size = 0;
  const reader = pieces[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await nextPiece(reader, budget);
      if (wide) {
        if (!next.done) {
          gathered.push(next.value);
          size += next.value.length;
          if (size < wide.chars) continue;
        }
        if (size === 0) return false;
        const text = tail + gathered.join('');
        gathered = [];
        size = 0;
        if (await wide.match(text)) return true;
        if (next.done) return false;
        tail = keep(text);
        continue;
      }
      if (next.done) return false;
      const text = tail + fold(next.value);
      for (const key of folded) {
        if (text.includes(key)) return true;
        budget.charge(text.length);
        if (budget.yieldDue) await budget.pause();
      }
      tail = keep(text);
    }
  } finally {
    await reader.return?.();
  }
}
