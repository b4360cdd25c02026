/**
 * The Sieve lexer, written by hand: one pass over the characters, deciding
 * each token by its first one or two, with no regular expression and no
 * match array per token.
 *
 * It gives exactly the tokens Chevrotain's lexer gives for the patterns of
 * sieve-lexer.ts (the same types, offsets and images, and the same runs of
 * unrecognised characters), and a property test holds it to that: those
 * patterns stay the readable definition of Sieve's tokens (RFC 5228 8.1),
 * this is the fast way to find them. The parser is still Chevrotain's;
 * Chevrotain takes any token vector of IToken objects.
 *
 * It writes no token objects: each token is a type and two offsets in
 * typed arrays (a Scan). On a 1 MiB script the 150,000 token objects and
 * their image strings were as many bytes as the AST, all live until the
 * parse ended, so the young-generation collector copied them again and
 * again; a parse of a valid script now gives Chevrotain one shared object
 * per token type and reads offsets and images from the Scan by the index
 * it has reached (sieve.ts, sieve-parser.ts).
 */
import type { TokenType } from './chevrotain.js';
import {
  BadMultiLine,
  Comma,
  Equals,
  Garbage,
  Identifier,
  LBracket,
  LCurly,
  LParen,
  MultiLine,
  NumberLiteral,
  QuotedString,
  RBracket,
  RCurly,
  RParen,
  Semicolon,
  Tag,
  UnterminatedComment,
  UnterminatedMultiLine,
  UnterminatedString,
  Variable,
} from './sieve-lexer.js';

/** The tokens of a text: token i is types[i] from starts[i] to just before stops[i]. */
export class Scan {
  count = 0;
  types: Uint16Array;
  starts: Int32Array;
  stops: Int32Array;
  /** The last hash comment's offsets: one that runs into the end of the text earns a warning. */
  lastHashComment: { start: number; end: number } | null = null;

  constructor(readonly text: string) {
    // A token every 6 characters or so in real scripts; the arrays double when that is short.
    const size = (text.length >> 2) + 16;
    this.types = new Uint16Array(size);
    this.starts = new Int32Array(size);
    this.stops = new Int32Array(size);
  }

  push(type: TokenType, start: number, stop: number): void {
    let i = this.count;
    if (i === this.types.length) this.grow();
    this.types[i] = type.tokenTypeIdx!;
    this.starts[i] = start;
    this.stops[i++] = stop;
    this.count = i;
  }

  /** Token i's text. */
  image(i: number): string {
    return this.text.slice(this.starts[i]!, this.stops[i]!);
  }

  private grow(): void {
    const size = this.types.length * 2;
    const types = new Uint16Array(size);
    types.set(this.types);
    const starts = new Int32Array(size);
    starts.set(this.starts);
    const stops = new Int32Array(size);
    stops.set(this.stops);
    this.types = types;
    this.starts = starts;
    this.stops = stops;
  }
}

/* Character classes by code, for the characters below 128: one array read per test. */
const SPACE = 1; // [ \t\r\n]
const NAME_START = 2; // [A-Za-z_]
const NAME = 4; // [A-Za-z0-9_]
const DIGIT = 8; // [0-9]
const klass = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  klass[c] = (' \t\r\n'.includes(ch) ? SPACE : 0) | (/[A-Za-z_]/.test(ch) ? NAME_START | NAME : 0) | (/[0-9]/.test(ch) ? NAME | DIGIT : 0);
}
const is = (code: number, k: number): boolean => code < 128 && (klass[code]! & k) !== 0;

/** The one-character tokens, by character code. */
const single: Array<TokenType | undefined> = [];
for (const [ch, type] of [
  [';', Semicolon],
  [',', Comma],
  ['{', LCurly],
  ['}', RCurly],
  ['(', LParen],
  [')', RParen],
  ['[', LBracket],
  [']', RBracket],
  ['=', Equals],
] as const) {
  single[ch.charCodeAt(0)] = type;
}

/** Where a run of name characters starting at `i` ends. */
function nameEnd(text: string, i: number): number {
  const n = text.length;
  while (i < n && is(text.charCodeAt(i), NAME)) i++;
  return i;
}

/** Whether `text:` (any case) starts at `i`. */
function isTextColon(text: string, i: number): boolean {
  return (
    text.charCodeAt(i + 4) === 58 /* : */ &&
    (text.charCodeAt(i) | 32) === 116 /* t */ &&
    (text.charCodeAt(i + 1) | 32) === 101 /* e */ &&
    (text.charCodeAt(i + 2) | 32) === 120 /* x */ &&
    (text.charCodeAt(i + 3) | 32) === 116 /* t */
  );
}

/** The length of the line break at `i` ("\n" or "\r\n"), or 0 when there is none there. */
function lineBreak(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 10) return 1;
  if (c === 13 && text.charCodeAt(i + 1) === 10) return 2;
  return 0;
}

/**
 * A multi-line string at `i` (which holds `text:`), RFC 5228 2.4.2: where it
 * ends and its type. The text after `text:` must be blanks, an optional hash
 * comment and a line break; then lines until one holding only "." (ended by
 * a line break or the end of the text). A lone "\r" ends no line.
 */
function multiLine(text: string, i: number): { end: number; type: TokenType } {
  const n = text.length;
  let p = i + 5;
  while (p < n && (text.charCodeAt(p) === 32 || text.charCodeAt(p) === 9)) p++;
  if (text.charCodeAt(p) === 35 /* # */) while (p < n && !isBreakChar(text.charCodeAt(p))) p++;
  const first = lineBreak(text, p);
  if (first === 0) return p === n ? { end: n, type: UnterminatedMultiLine } : { end: i + 5, type: BadMultiLine };
  p += first;
  for (;;) {
    if (text.charCodeAt(p) === 46 /* . */) {
      if (p + 1 === n) return { end: n, type: MultiLine };
      const b = lineBreak(text, p + 1);
      if (b !== 0) return { end: p + 1 + b, type: MultiLine };
    }
    while (p < n && !isBreakChar(text.charCodeAt(p))) p++;
    const b = lineBreak(text, p);
    if (b === 0) return { end: n, type: UnterminatedMultiLine };
    p += b;
  }
}

const isBreakChar = (c: number): boolean => c === 10 || c === 13;

/**
 * A quoted string at `i`: the offset just past its closing quote, or, when
 * the text ends first, a negative number: -(end of the unterminated string),
 * which stops before a backslash that ends the text (it escapes nothing).
 */
function quoted(text: string, i: number): number {
  const n = text.length;
  let p = i + 1;
  while (p < n) {
    const c = text.charCodeAt(p);
    if (c === 34 /* " */) return p + 1;
    if (c === 92 /* \ */) {
      if (p + 1 === n) return -p;
      p += 2;
    } else p++;
  }
  return -n;
}

/** Where the number at `i` ends (`-?[0-9]+(\.[0-9]+)?[KMGkmg]?`), or -1 when none starts there. */
function numberEnd(text: string, i: number): number {
  let p = text.charCodeAt(i) === 45 /* - */ ? i + 1 : i;
  if (!is(text.charCodeAt(p), DIGIT)) return -1;
  while (is(text.charCodeAt(p), DIGIT)) p++;
  if (text.charCodeAt(p) === 46 && is(text.charCodeAt(p + 1), DIGIT)) {
    p += 2;
    while (is(text.charCodeAt(p), DIGIT)) p++;
  }
  const q = text.charCodeAt(p) | 32;
  return q === 107 /* k */ || q === 109 /* m */ || q === 103 /* g */ ? p + 1 : p;
}

/** Whether some token (or white space or a comment) starts at `i`: where a run of unrecognised characters stops. */
function startsToken(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c >= 128) return false;
  if (klass[c]! !== 0 || single[c] !== undefined || c === 34 || c === 35) return true;
  const next = text.charCodeAt(i + 1);
  switch (c) {
    case 47: // '/'
      return next === 42;
    case 45: // '-'
      return is(next, DIGIT);
    case 58: // ':'
    case 36: // '$'
      return is(next, NAME_START);
    default:
      return false;
  }
}

export function scanSieve(text: string): Scan {
  const scan = new Scan(text);
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    const one = single[c];
    if (one !== undefined) {
      scan.push(one, i, ++i);
      continue;
    }
    if (c < 128 && (klass[c]! & SPACE) !== 0) {
      i++;
      while (i < n && is(text.charCodeAt(i), SPACE)) i++;
      continue;
    }
    if (c < 128 && (klass[c]! & NAME_START) !== 0) {
      if ((c | 32) === 116 && isTextColon(text, i)) {
        const m = multiLine(text, i);
        scan.push(m.type, i, m.end);
        i = m.end;
        continue;
      }
      const end = nameEnd(text, i + 1);
      scan.push(Identifier, i, end);
      i = end;
      continue;
    }
    const next = text.charCodeAt(i + 1);
    switch (c) {
      case 34: {
        // '"'
        const end = quoted(text, i);
        if (end > 0) scan.push(QuotedString, i, end);
        else scan.push(UnterminatedString, i, -end);
        i = Math.abs(end);
        continue;
      }
      case 58: // ':'
      case 36: // '$'
        if (is(next, NAME_START)) {
          const end = nameEnd(text, i + 2);
          scan.push(c === 58 ? Tag : Variable, i, end);
          i = end;
          continue;
        }
        break;
      case 35: {
        // '#': a hash comment, to the end of its line (the line break is white space)
        let end = i + 1;
        while (end < n && !isBreakChar(text.charCodeAt(end))) end++;
        scan.lastHashComment = { start: i, end };
        i = end;
        continue;
      }
      case 47: // '/'
        if (next === 42) {
          const close = text.indexOf('*/', i + 2);
          if (close < 0) {
            scan.push(UnterminatedComment, i, n);
            i = n;
          } else i = close + 2;
          continue;
        }
        break;
      default:
        if (c === 45 || is(c, DIGIT)) {
          const end = numberEnd(text, i);
          if (end > 0) {
            scan.push(NumberLiteral, i, end);
            i = end;
            continue;
          }
        }
    }
    // Nothing starts here: the run of characters up to where something does is one Garbage token.
    let end = i + 1;
    while (end < n && !startsToken(text, end)) end++;
    scan.push(Garbage, i, end);
    i = end;
  }
  return scan;
}
