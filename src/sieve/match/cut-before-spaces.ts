/**
 * Pieces of a value cut again so that each but the first begins with an
 * ASCII space, tab or line break, for a comparator that does not fold each
 * character on its own but folds text between such characters on its own
 * (Comparator.foldsBetweenSpaces: i;unicode-casemap). Its NFKD reorders
 * combining marks only among those after one starter, and these
 * characters are starters. (Its case mapping reads no neighbours: every
 * sigma folds alike, comparators.ts.) So folding the pieces cut here, one
 * by one, is folding the value.
 */

/** A stretch of this many characters without a space or line break to cut at: the caller reads the value whole instead. */
export class NoPlaceToCut extends Error {}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;

/** The pieces, cut again before their last space each; throws NoPlaceToCut past `maxHeld` characters without one. */
export async function* cutBeforeSpaces(pieces: AsyncIterable<string>, maxHeld: number): AsyncGenerator<string> {
  let held = '';
  for await (const piece of pieces) {
    const text = held + piece;
    let cut = text.length - 1;
    while (cut > 0 && !isSpace(text.charCodeAt(cut))) cut--;
    if (cut <= 0) {
      if (text.length > maxHeld) throw new NoPlaceToCut(`no space or line break to cut at in ${text.length} characters`);
      held = text;
      continue;
    }
    yield text.slice(0, cut);
    held = text.slice(cut);
  }
  if (held) yield held;
}
