/**
 * RFC 5228 2.7.1 :matches, for a key that begins and ends with `*` and has
 * no `?` (`*S1*S2*...*Sn*`), over a value that arrives in pieces (a large
 * body read from where the host keeps it), so the value is never held
 * whole. Such a key matches exactly when S1, S2, ... Sn occur in the value
 * in that order without overlapping, and finding each at its first
 * occurrence after the one before decides that: if any choice of places
 * works, the earliest ones do, as each later segment then has the most
 * value left to be found in. So each key needs only the segment it is
 * looking for and the few characters before the current piece that could
 * begin it (one less than the segment's length, never reaching back into
 * the segment found before).
 *
 * As for contains-in-pieces.ts, only for comparators that fold each
 * character on its own (Comparator.foldsEachCharacter), with the scan
 * charged to the run's CPU budget a unit a character for each key and a
 * time-sliced run letting the event loop go between keys; the clock stops
 * while a piece is read. The caller keeps this to a few keys: unlike a
 * plain substring, an ordered run of segments cannot be looked for in
 * windows matched apart, as its segments may lie windows apart.
 */
import type { Comparator } from './comparators.js';
import { nextPiece } from './contains-in-pieces.js';
import type { MatchBudget } from './match-types.js';

/**
 * Whether any key's segments occur in order in the value the pieces make.
 * `keys`: each key's non-empty segments between its stars, already folded
 * by `cmp` (a key of stars alone has none, and matches every value).
 */
export async function inOrderInPieces(pieces: AsyncIterable<string>, keys: ReadonlyArray<readonly string[]>, cmp: Comparator, budget: MatchBudget): Promise<boolean> {
  if (!cmp.fold || !cmp.foldsEachCharacter) throw new Error(`inOrderInPieces: ${cmp.name} does not fold character by character`);
  const fold = cmp.fold;
  if (keys.length === 0) return false;
  if (keys.some((segments) => segments.length === 0)) return true;
  // For each key: the index of the segment it looks for, and the characters carried from the pieces before.
  const next = keys.map(() => 0);
  const carried = keys.map(() => '');
  const reader = pieces[Symbol.asyncIterator]();
  try {
    for (;;) {
      const read = await nextPiece(reader, budget);
      if (read.done) return false;
      const piece = fold(read.value);
      for (let k = 0; k < keys.length; k++) {
        const segments = keys[k]!;
        const text = carried[k] + piece;
        let from = 0;
        for (let at = text.indexOf(segments[next[k]!]!, from); at >= 0; at = text.indexOf(segments[next[k]!]!, from)) {
          from = at + segments[next[k]!]!.length;
          if (++next[k]! === segments.length) return true;
        }
        // A segment not found yet may begin in the last (length - 1) characters, but not inside the one found before.
        carried[k] = text.slice(Math.max(from, text.length - (segments[next[k]!]!.length - 1)));
        budget.charge(text.length);
        if (budget.yieldDue) await budget.pause();
      }
    }
  } finally {
    await reader.return?.();
  }
}
