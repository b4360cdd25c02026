/**
 * Line and column of a token, computed from its offset. The lexer tracks
 * offsets only (Chevrotain's `positionTracking: 'onlyOffset'`, well over
 * twice as fast as full tracking); one pass over the text records where
 * each line starts, and positions are looked up when a node or a
 * diagnostic needs one.
 *
 * The numbers are the ones Chevrotain's full tracking gives: a line ends at
 * "\n", "\r\n" or a lone "\r" (its default line terminators), columns count
 * characters from 1, and a token that ends with a line break after earlier
 * ones ends at column 1 of its last line, as Chevrotain reports it. Every
 * line break lies inside a token that may hold one (white space, strings,
 * comments), so counting them over the whole text is counting them token
 * by token, as Chevrotain does.
 */
import type { IToken } from './chevrotain.js';
import type { Position } from '../src/diagnostics.js';

export class LineIndex {
  /** Offsets where lines 2, 3, ... start (line 1 starts at 0). */
  private readonly starts: number[] = [];
  /** The line (0-based) of the last look-up: nodes are built mostly in text order. */
  private last = 0;

  constructor(private readonly text: string) {
    if (text.indexOf('\r') < 0) {
      // Only "\n" ends lines (the usual case): indexOf finds them far faster than a loop over every character.
      for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
      return;
    }
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        this.starts.push(i + 1);
      }
    }
  }

  /**
   * 0-based line of an offset: the number of line starts at or before it.
   * Nodes are built mostly in text order, so the line is looked for first a
   * few lines on from the last answer; anything further away, either way,
   * is found by binary search. (A walk with no bound made a validator that
   * asked for a position near the end, then near the start, then near the
   * end again cost a pass over every line each time: two-thirds of checking
   * a 1 MiB script.)
   */
  private lineOf(offset: number): number {
    const s = this.starts;
    let l = this.last;
    if (l > 0 && s[l - 1]! > offset) {
      l = this.search(0, l - 1, offset);
    } else {
      const near = Math.min(l + 8, s.length);
      while (l < near && s[l]! <= offset) l++;
      if (l === near && l < s.length && s[l]! <= offset) l = this.search(l, s.length, offset);
    }
    this.last = l;
    return l;
  }

  /** The first index in [lo, hi) whose line start is past `offset` (hi if none). */
  private search(lo: number, hi: number, offset: number): number {
    const s = this.starts;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  position(offset: number): Position {
    const l = this.lineOf(offset);
    return { line: l + 1, column: offset - (l === 0 ? 0 : this.starts[l - 1]!) + 1, offset };
  }

  /** The text from `start` to just before `stop`. */
  slice(start: number, stop: number): string {
    return this.text.slice(start, stop);
  }

  /** Where a token starts. */
  start(t: IToken): Position {
    return this.position(t.startOffset);
  }

  /** Just after a token ends: its last character's line, that character's column + 1, offset + 1. */
  end(t: IToken): Position {
    // Offset-only tokens carry no end offset: the image gives it.
    return this.endOf(t.startOffset, t.image.length);
  }

  /** `end` of the token that starts at `start` and is `length` characters long. */
  endOf(start: number, length: number): Position {
    const last = start + Math.max(length, 1) - 1;
    const p = this.position(last);
    const c = this.text.charCodeAt(last);
    if ((c === 10 || c === 13) && this.lineOf(last + 1) - this.lineOf(start) > 1) return { line: p.line, column: 2, offset: last + 1 };
    return { line: p.line, column: p.column + 1, offset: last + 1 };
  }

  /**
   * `end` of an AST node's last token, from the offset just past it. Of the
   * tokens that can end a node, only a multi-line string ends with a line
   * break, and it always holds more than one.
   */
  after(stop: number): Position {
    const last = Math.max(stop - 1, 0);
    const p = this.position(last);
    const c = this.text.charCodeAt(last);
    if (c === 10 || c === 13) return { line: p.line, column: 2, offset: last + 1 };
    return { line: p.line, column: p.column + 1, offset: last + 1 };
  }
}
