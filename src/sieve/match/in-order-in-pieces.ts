/**
 * RFC 5228 2.7.1 :matches for a key with at least one `*`
 * (`S0*S1*...*Sn`, S0 and Sn often empty), over a value that arrives in
 * pieces (a large body read from where the host keeps it), so the value is
 * never held whole. Such a key matches exactly when the value begins with
 * S0, ends with Sn, and S1, ... S(n-1) occur between them in that order
 * without overlapping, and finding each at its first place after the one
 * before decides that: if any choice of places works, the earliest ones
 * do, as each later text then has the most value left (glob.ts places
 * them the same way). A `?` is one character, which may be two UTF-16
 * units, so a text with `?` is matched character by character.
 *
 * So each key needs only the text it is looking for and the few units
 * before the current piece that could begin it (fewer than the most the
 * text can span, never reaching back into the text found before), the
 * value's first units until they decide S0, and its last units for Sn
 * (Momentum's own example is `body :raw :matches "The * bad * test*"`).
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

/** Text between stars, folded: a string when it has no `?`, else its characters with null for each `?`. */
export type Segment = string | ReadonlyArray<string | null>;

/** A key `S0*S1*...*Sn`: `start` is S0, `texts` S1 to S(n-1) without the empty ones, `end` Sn when the key does not end with `*`. */
export interface InOrderKey {
  start: Segment;
  texts: readonly Segment[];
  end?: Segment;
}

/** The most UTF-16 units a segment can match: a `?` may take two. */
const maxUnits = (s: Segment): number => (typeof s === 'string' ? s.length : s.reduce((n: number, c) => n + (c === null ? 2 : c.length), 0));
/** How many characters a segment matches (a `?`, or a literal character of one or two units, is one). */
const characters = (s: Segment): number => (typeof s === 'string' ? Array.from(s).length : s.length);

const isHigh = (u: number) => u >= 0xd800 && u <= 0xdbff;
const isLow = (u: number) => u >= 0xdc00 && u <= 0xdfff;
/** Whether `p` is inside a surrogate pair (glob.ts reads a pair as one character, never half of one). */
const inPair = (text: string, p: number) => p > 0 && isLow(text.charCodeAt(p)) && isHigh(text.charCodeAt(p - 1));

const NO = -1;
/** The text ended before the segment could be decided: more may come. */
const UNDECIDED = -2;

/** Where `seg` ends when it matches `text` at `p`: NO, or UNDECIDED when the text ends first. */
function segmentEnd(seg: Segment, text: string, p: number): number {
  if (typeof seg === 'string') {
    if (text.startsWith(seg, p)) return p + seg.length;
    return p + seg.length > text.length && seg.startsWith(text.slice(p)) ? UNDECIDED : NO;
  }
  for (const c of seg) {
    if (p >= text.length) return UNDECIDED;
    if (c === null) {
      // One character: a pair whose second half has not come yet is not decided.
      if (isHigh(text.charCodeAt(p)) && p + 1 === text.length) return UNDECIDED;
      p += inPair(text, p + 1) ? 2 : 1;
    } else if (text.startsWith(c, p)) p += c.length;
    else return p + c.length > text.length && c.startsWith(text.slice(p)) ? UNDECIDED : NO;
  }
  return p;
}

/** The first place at or after `from` where `seg` matches: its start and end; the start is UNDECIDED's place when that comes first. */
function find(seg: Segment, text: string, from: number): { at: number; end: number } {
  if (typeof seg === 'string') {
    const at = text.indexOf(seg, from);
    return at >= 0 ? { at, end: at + seg.length } : { at: Math.max(from, text.length - seg.length + 1), end: UNDECIDED };
  }
  const first = seg[0];
  for (let p = from; p < text.length; p++) {
    if (first !== null && first !== undefined) {
      p = text.indexOf(first, p);
      if (p < 0) break;
    }
    if (inPair(text, p)) continue;
    const end = segmentEnd(seg, text, p);
    if (end === UNDECIDED) return { at: p, end };
    if (end >= 0) return { at: p, end };
  }
  return { at: Math.max(from, text.length - maxUnits(seg) + 1), end: UNDECIDED };
}

/** Whether any key matches the value the pieces make. */
export async function inOrderInPieces(pieces: AsyncIterable<string>, keys: readonly InOrderKey[], cmp: Comparator, budget: MatchBudget): Promise<boolean> {
  if (!cmp.fold || !cmp.foldsEachCharacter) throw new Error(`inOrderInPieces: ${cmp.name} does not fold character by character`);
  const fold = cmp.fold;
  if (keys.length === 0) return false;
  // For each key: whether it can still match, the index of the text it looks for, the units carried from
  // the pieces before, where in the value the carried units begin, and where the last text found ends.
  const live = keys.map(() => true);
  const next = keys.map(() => 0);
  const carried = keys.map(() => '');
  const carriedAt = keys.map(() => 0);
  const foundEnd = keys.map(() => 0);
  // The value's first units, until there are enough to decide every start; its last units, for the ends.
  const startUnits = Math.max(0, ...keys.map((k) => maxUnits(k.start)));
  const endUnits = Math.max(0, ...keys.map((k) => (k.end === undefined ? 0 : maxUnits(k.end) + 1)));
  let head = '';
  let started = false;
  let tail = '';
  let total = 0;
  const reader = pieces[Symbol.asyncIterator]();
  try {
    for (;;) {
      const read = await nextPiece(reader, budget);
      let piece = read.done ? '' : fold(read.value);
      total += piece.length;
      if (endUnits > 0) tail = piece.length >= endUnits ? piece.slice(-endUnits) : (tail + piece).slice(-endUnits);
      if (!started) {
        head += piece;
        if (head.length < startUnits && !read.done) continue;
        started = true;
        piece = head;
        for (let k = 0; k < keys.length; k++) {
          const end = segmentEnd(keys[k]!.start, head, 0);
          if (end < 0) live[k] = false;
          else foundEnd[k] = end;
        }
        // The texts are looked for only after the start.
        for (let k = 0; k < keys.length; k++) carriedAt[k] = -foundEnd[k]!;
      }
      for (let k = 0; k < keys.length; k++) {
        if (!live[k]) continue;
        const { texts, end } = keys[k]!;
        if (next[k] === texts.length) {
          if (end === undefined) return true;
          continue;
        }
        if (piece.length === 0) continue;
        // The first piece is searched from the end of the start; later ones from the carried units.
        const skip = carriedAt[k]! < 0 ? -carriedAt[k]! : 0;
        const at = carriedAt[k]! < 0 ? 0 : carriedAt[k]!;
        const text = skip > 0 ? piece : carried[k] + piece;
        let from = skip;
        for (;;) {
          const found = find(texts[next[k]!]!, text, from);
          if (found.end < 0) {
            from = Math.max(from, found.at);
            break;
          }
          from = found.end;
          foundEnd[k] = at + found.end;
          if (++next[k]! === texts.length) break;
        }
        if (next[k] === texts.length) {
          if (end === undefined) return true;
        } else {
          // Not found yet: the text may begin in the units carried on (never inside the one found before, or half a pair).
          let keep = Math.max(from, text.length - (maxUnits(texts[next[k]!]!) - 1));
          if (keep > from && inPair(text, keep)) keep--;
          carried[k] = text.slice(keep);
          carriedAt[k] = at + keep;
        }
        budget.charge(text.length);
        if (budget.yieldDue) await budget.pause();
      }
      if (read.done) return keys.some((key, k) => live[k] && next[k] === key.texts.length && (key.end === undefined || endsWith(key.end, tail, total, foundEnd[k]!)));
    }
  } finally {
    await reader.return?.();
  }
}

/** Whether the value (`tail` its last units, `total` its length) ends with `seg`, starting no earlier than `after`. */
function endsWith(seg: Segment, tail: string, total: number, after: number): boolean {
  let q = tail.length;
  for (let n = characters(seg); n > 0; n--) {
    if (q === 0) return false;
    q -= inPair(tail, q - 1) ? 2 : 1;
  }
  return total - tail.length + q >= after && segmentEnd(seg, tail, q) === tail.length;
}
