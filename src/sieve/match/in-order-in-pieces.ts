/**
 * RFC 5228 2.7.1 :matches, for a key that ends with `*` and has no `?`
 * (`S0*S1*...*Sn*`, S0 often empty), over a value that arrives in pieces
 * (a large body read from where the host keeps it), so the value is never
 * held whole. Such a key matches exactly when the value begins with S0 and
 * S1, ... Sn occur after it in that order without overlapping, and finding
 * each at its first occurrence after the one before decides that: if any
 * choice of places works, the earliest ones do, as each later text then
 * has the most value left to be found in. So each key needs only the text
 * it is looking for and the few characters before the current piece that
 * could begin it (one less than the text's length, never reaching back
 * into the text found before, or into S0). The first characters of the
 * value are kept until they decide every key's S0 (Momentum's own example
 * is `body :raw :matches "The * bad * test*"`).
 *
 * As for contains-in-pieces.ts, only for comparators that fold each
 * character on its own (Comparator.foldsEachCharacter), with the scan
 * charged to the run's CPU budget a unit a character for each key and a
 * time-sliced run letting the event loop go between keys; the clock stops
 * while a piece is read. The caller keeps this to a few keys: unlike a
 * plain substring, an ordered run of texts cannot be looked for in
 * windows matched apart, as its texts may lie windows apart.
 */
import type { Comparator } from './comparators.js';
import { nextPiece } from './contains-in-pieces.js';
import type { MatchBudget } from './match-types.js';

/** A key `S0*S1*...*Sn*`, folded by the comparator: `start` is S0 ('' for a key that begins with `*`), `texts` S1 to Sn without the empty ones. */
export interface InOrderKey {
  start: string;
  texts: readonly string[];
}

/** Whether any key matches the value the pieces make. */
export async function inOrderInPieces(pieces: AsyncIterable<string>, keys: readonly InOrderKey[], cmp: Comparator, budget: MatchBudget): Promise<boolean> {
  if (!cmp.fold || !cmp.foldsEachCharacter) throw new Error(`inOrderInPieces: ${cmp.name} does not fold character by character`);
  const fold = cmp.fold;
  if (keys.length === 0) return false;
  // For each key: whether its start is still possible, the index of the text it looks for, the characters
  // carried from the pieces before, and how many characters to come still belong to its start.
  const live = keys.map(() => true);
  const next = keys.map(() => 0);
  const carried = keys.map(() => '');
  const skip = keys.map((key) => key.start.length);
  const longestStart = Math.max(0, ...keys.map((key) => key.start.length));
  // The value's first characters, until they decide every start.
  let head = '';
  const reader = pieces[Symbol.asyncIterator]();
  try {
    for (;;) {
      const read = await nextPiece(reader, budget);
      const piece = read.done ? '' : fold(read.value);
      if (head.length < longestStart) head += piece.slice(0, longestStart - head.length);
      for (let k = 0; k < keys.length; k++) {
        const { start, texts } = keys[k]!;
        if (!live[k]) continue;
        // Decided once the value is as long as the start (a value that ends shorter matches no key of it).
        if (head.length >= start.length) {
          if (!head.startsWith(start)) {
            live[k] = false;
            continue;
          }
          if (next[k] === texts.length) return true;
        }
        if (read.done) continue;
        // The characters of the start are not the texts'.
        if (skip[k]! >= piece.length) {
          skip[k] = skip[k]! - piece.length;
          continue;
        }
        const text = carried[k] + piece;
        let from = skip[k]!;
        skip[k] = 0;
        for (let at = text.indexOf(texts[next[k]!]!, from); at >= 0; at = text.indexOf(texts[next[k]!]!, from)) {
          from = at + texts[next[k]!]!.length;
          // Found after the start, so the start is decided and is there.
          if (++next[k]! === texts.length) return true;
        }
        // A text not found yet may begin in the last (length - 1) characters, but not inside the one found before.
        carried[k] = text.slice(Math.max(from, text.length - (texts[next[k]!]!.length - 1)));
        budget.charge(text.length);
        if (budget.yieldDue) await budget.pause();
      }
      if (read.done) return false;
    }
  } finally {
    await reader.return?.();
  }
}
