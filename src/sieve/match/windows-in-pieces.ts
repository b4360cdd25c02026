/**
 * A value that arrives in pieces (a large body read from where the host
 * keeps it) cut into overlapping windows, so that a :regex over the
 * windows answers as over the whole value, and the value is never held
 * whole: what the body test does for a pattern whose matches have a
 * bounded length (regex-reach.ts).
 *
 * Every match of at most `reach` UTF-16 units lies whole in some window:
 * each window begins at least `reach` units before the end of the one
 * before. For a pattern with repeats (regex-reach.ts, Repeats), whose
 * matches have no bound, a window begins no later than just after the
 * last character before the end of the one before that a match cannot
 * hold, or before which the end holds more characters than a match can
 * outside its repeats: no match that runs over the end begins before
 * that. And a match found in a window is one in the value: inside a
 * window the pattern sees the value's characters, and at its two edges
 * its assertions see what they see in the value. A window is cut only
 * where that holds (RE2's rules, re2js Utils.emptyOpContext):
 *   - `\b` and `\B` take the outside of a window for a non-word character,
 *     so a window begins after, and ends before, one that is not a word
 *     character (ASCII letters, digits and `_`);
 *   - `^` and `$` in multi-line mode take the outside for a line's start
 *     and end, so a window begins after, and ends before, a "\n";
 *   - without assertions a window is cut anywhere but inside a surrogate
 *     pair.
 * (`^` and `$` of the whole value are never matched in windows.)
 *
 * Windows are at least `chars` units long, and a cut leaves at least that
 * much after it, so that no window is a small remainder (each is worth the
 * match worker's round trip the caller gives it); a value shorter than
 * that is one window. A window holds between `chars` and about twice that;
 * a line (or word) longer than that makes a longer one, up to the caller's
 * limit, past which the caller matches the value whole (against the
 * memory budget, as before).
 */
import { nextPiece } from './contains-in-pieces.js';
import type { MatchBudget } from './match-types.js';
import type { RegexReach, Repeats } from './regex-reach.js';

const isWordChar = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdfff;

/** Whether a window may end just before, or begin just after, the character `c`. */
function cutBeside(edges: RegexReach['edges']): (c: number) => boolean {
  if (edges === 'line') return (c) => c === 10;
  if (edges === 'word') return (c) => !isWordChar(c) && !isSurrogate(c);
  return (c) => !isSurrogate(c);
}

/**
 * Where a match of a pattern with `repeats` that runs over `end` may
 * begin: after the index returned, the last one before `end` that holds a
 * character no match holds, or from which to `end` there are more
 * characters outside the repeats than a match holds. -1: anywhere.
 */
function lookBack(text: string, end: number, repeats: Repeats): number {
  let outside = 0;
  for (let j = end - 1; j >= 0; j--) {
    let c = text.charCodeAt(j);
    // A pair is one character: met at its low half, it is looked at once.
    const high = j > 0 && c >= 0xdc00 && c <= 0xdfff ? text.charCodeAt(j - 1) : 0;
    const pair = high >= 0xd800 && high <= 0xdbff;
    if (pair) c = ((high - 0xd800) << 10) + (c - 0xdc00) + 0x10000;
    if (!repeats.reads.has(c) || (!repeats.loops.has(c) && ++outside > repeats.fixed)) return j;
    if (pair) j--;
  }
  return -1;
}

/** A line (or word) longer than the caller allows: the value is to be matched whole instead. */
export class WindowTooLong extends Error {}

/**
 * The windows of the value the pieces make (one window, perhaps empty, for
 * a short value). Throws WindowTooLong once `maxChars` are read without a
 * place to cut.
 */
export async function* windowsInPieces(pieces: AsyncIterable<string>, reach: RegexReach, chars: number, maxChars: number, budget: MatchBudget): AsyncGenerator<string> {
  const cut = cutBeside(reach.edges);
  // The value from the start of the next window on, as read so far.
  let text = '';
  // The last place found where a window may end (at least `chars` in), and how far the search for it has gone.
  let end = -1;
  let searched = chars;
  const reader = pieces[Symbol.asyncIterator]();
  try {
    for (;;) {
      const read = await nextPiece(reader, budget);
      if (read.done) {
        yield text;
        return;
      }
      text += read.value;
      // Enough for a window and, after it, the start of a next one at least `chars` long.
      if (text.length < 2 * chars + reach.units) continue;
      const last = text.length - chars;
      for (let i = searched; i <= last; i++) if (cut(text.charCodeAt(i))) end = i;
      searched = last + 1;
      // The next window begins after a place it may begin, at least `reach` units before this one's end, and no later than
      // where a match with repeats that runs over its end may begin.
      let from = end - reach.units - 1;
      for (const r of end >= 0 ? (reach.repeats ?? []) : []) {
        const j = lookBack(text, end, r);
        // The characters looked at are the run's work.
        budget.charge(end - j);
        from = Math.min(from, j);
        // Many keys with repeats can each look back a long way: the event loop gets its turns between them.
        if (budget.yieldDue) await budget.pause();
      }
      let next = -1;
      for (let i = from; end >= 0 && i >= 0; i--) {
        if (cut(text.charCodeAt(i))) {
          next = i + 1;
          break;
        }
      }
      if (next > 0) {
        yield text.slice(0, end);
        text = text.slice(next);
        end = -1;
        searched = chars;
      } else if (text.length > maxChars) {
        throw new WindowTooLong(`no place to cut a window in ${text.length} characters`);
      }
    }
  } finally {
    await reader.return?.();
  }
}
