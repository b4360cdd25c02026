/**
 * The :matches wildcard match (RFC 5228 2.7.1) with match values (RFC 5229
 * 3.2): `*` matches zero or more characters, `?` exactly one, `\` escapes
 * the next character. Each wildcard captures what it matched, and each `*`
 * takes as little as possible, left to right.
 *
 * A pattern is a sequence of segments separated by `*`. The first segment is
 * anchored at the start, the last at the end, and every middle segment is
 * placed at its leftmost possible position: that placement succeeds whenever
 * any placement does, and gives every `*` its shortest match. The cost is
 * O(pattern x value), never exponential.
 */

/** One piece between stars: literal characters and `?` holes (null). */
type Segment = Array<string | null>;

export interface Glob {
  segments: Segment[];
  /** True when the pattern contains `*`, so that the segments float. */
  starred: boolean;
  /** The order wildcards appear in: 's' star, 'q' question mark; gives capture order. */
  order: string;
}

/** Parses a pattern; `fold` is the comparator's folding, applied to literal characters. */
export function parseGlob(pattern: string, fold: (s: string) => string): Glob {
  const segments: Segment[] = [[]];
  let order = '';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const seg = segments[segments.length - 1]!;
    // Folding may turn one character into several (NFKD): push each.
    if (c === '\\' && i + 1 < chars.length) seg.push(...Array.from(fold(chars[++i]!)));
    else if (c === '*') {
      order += 's';
      segments.push([]);
    } else if (c === '?') {
      order += 'q';
      seg.push(null);
    } else seg.push(...Array.from(fold(c)));
  }
  return { segments, starred: segments.length > 1, order };
}

/** Characters by index: a string when every character is one UTF-16 unit, else an array. */
export type Chars = string | readonly string[];

const slice = (c: Chars, from: number, to?: number): string => (typeof c === 'string' ? c.slice(from, to) : c.slice(from, to).join(''));

function segmentAt(seg: Segment, value: Chars, at: number): boolean {
  if (at + seg.length > value.length) return false;
  for (let j = 0; j < seg.length; j++) {
    const p = seg[j];
    if (p !== null && p !== value[at + j]) return false;
  }
  return true;
}

/**
 * Matches `value` (already folded, split in characters) against the glob.
 * Returns null on no match, or the captures in wildcard order when
 * `captures` is asked for (else an empty array). `original` gives the
 * unfolded characters for the captures.
 */
export function matchGlob(g: Glob, value: Chars, original: Chars, captures: boolean): string[] | null {
  const segs = g.segments;
  const first = segs[0]!;
  if (!g.starred) {
    if (first.length !== value.length || !segmentAt(first, value, 0)) return null;
    return captures ? holes(first, original, 0, []) : [];
  }
  if (!segmentAt(first, value, 0)) return null;
  const last = segs[segs.length - 1]!;
  const lastAt = value.length - last.length;
  if (lastAt < first.length) return null;
  // Place middle segments leftmost, remembering where each starts.
  const starts: number[] = [0];
  let pos = first.length;
  for (let s = 1; s < segs.length - 1; s++) {
    const seg = segs[s]!;
    let at = pos;
    while (at + seg.length <= lastAt && !segmentAt(seg, value, at)) at++;
    if (at + seg.length > lastAt) return null;
    starts.push(at);
    pos = at + seg.length;
  }
  if (!segmentAt(last, value, lastAt)) return null;
  starts.push(lastAt);
  if (!captures) return [];
  // Captures, in pattern order: each segment's `?` holes, then the `*` after it.
  const out: string[] = [];
  for (let s = 0; s < segs.length; s++) {
    const seg = segs[s]!;
    const at = starts[s]!;
    holes(seg, original, at, out);
    if (s < segs.length - 1) out.push(slice(original, at + seg.length, starts[s + 1]));
  }
  return out;
}

/** Adds what the segment's `?` holes matched to `out`. */
function holes(seg: Segment, original: Chars, at: number, out: string[]): string[] {
  for (let j = 0; j < seg.length; j++) if (seg[j] === null) out.push(original[at + j] ?? '');
  return out;
}
