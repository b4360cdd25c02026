/**
 * Comparators (RFC 5228 2.7.3, RFC 4790 section 9): how two strings are
 * compared for equality, substring and ordering. Each is registered by the
 * extension that defines its capability (core: i;octet and i;ascii-casemap;
 * "comparator-i;ascii-numeric"; "comparator-i;unicode-casemap").
 */

export interface Comparator {
  name: string;
  /** The capability that makes it usable, "" for the core two. */
  equals(a: string, b: string): boolean;
  /** Ordering for relational :value (RFC 5231): negative, zero or positive. */
  compare(a: string, b: string): number;
  /**
   * Folds a string so that character-wise equality of folded strings is
   * this comparator's equality; used by :contains and :matches. Absent when
   * the comparator has no substring operation (i;ascii-numeric, RFC 4790 9.1).
   */
  fold?(s: string): string;
  /** True when `equals(a, b)` is `fold(a) === fold(b)`: then a constant key is folded once (basic-match.ts). */
  foldEquals?: boolean;
  /**
   * True when `fold(a + b)` is `fold(a) + fold(b)` for any split: each
   * character folds on its own. Then a long value can be folded in pieces
   * as it is read (contains-in-pieces.ts). Not so for i;unicode-casemap,
   * whose normalisation joins a character with the combining marks after it.
   */
  foldsEachCharacter?: boolean;
  /**
   * True when `fold(a + b)` is `fold(a) + fold(b)` whenever `b` begins
   * with an ASCII space, tab or line break: a long value can be folded in
   * pieces cut there (cut-before-spaces.ts).
   */
  foldsBetweenSpaces?: boolean;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** RFC 4790 9.3: bytes compared as they are. */
export const octet: Comparator = {
  name: 'i;octet',
  equals: (a, b) => a === b,
  // UTF-8 byte order is code point order; UTF-16 code unit order differs
  // only when surrogates are involved, so only then pay for the encoding.
  compare: (a, b) =>
    /[\ud800-\udfff]/.test(a + b) ? Buffer.compare(Buffer.from(a), Buffer.from(b)) : cmp(a, b),
  fold: (s) => s,
  foldEquals: true,
  foldsEachCharacter: true,
};

/** RFC 4790 9.2: US-ASCII letters compared without case; everything else as octets. */
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;
function asciiLower(s: string): string {
  // For ASCII text the native lower-casing is the ASCII one and fast.
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

export const asciiCasemap: Comparator = {
  name: 'i;ascii-casemap',
  equals: (a, b) => a === b || (a.length === b.length && asciiLower(a) === asciiLower(b)),
  compare: (a, b) => octet.compare(asciiLower(a), asciiLower(b)),
  fold: asciiLower,
  foldEquals: true,
  foldsEachCharacter: true,
};

/**
 * RFC 4790 9.1: a string is the number its leading digits spell; a string
 * that does not start with a digit is positive infinity, and two infinities
 * are equal. Digits are compared as decimal strings, so size is unbounded.
 */
function numericKey(s: string): string | null {
  let end = 0;
  while (end < s.length && s.charCodeAt(end) >= 48 && s.charCodeAt(end) <= 57) end++;
  if (end === 0) return null;
  let start = 0;
  while (start < end - 1 && s[start] === '0') start++;
  return s.slice(start, end);
}

export function compareNumeric(a: string, b: string): number {
  const x = numericKey(a);
  const y = numericKey(b);
  if (x === null) return y === null ? 0 : 1;
  if (y === null) return -1;
  return x.length !== y.length ? x.length - y.length : cmp(x, y);
}

export const asciiNumeric: Comparator = {
  name: 'i;ascii-numeric',
  equals: (a, b) => compareNumeric(a, b) === 0,
  compare: compareNumeric,
};

/**
 * RFC 5051 i;unicode-casemap: titlecase and decompose (NFKD) both sides.
 * Upper- then lower-casing approximates the simple titlecase mapping,
 * which maps each character on its own. JavaScript's toLowerCase does not
 * quite: it writes a capital sigma that ends a word as the final form ς
 * (Unicode's Final_Sigma condition), so "ΑΣ" folded to "ας" but "ΑΣx" to
 * "ασx", and :contains "ΑΣ" missed "ΑΣx". Every sigma titlecases to Σ: all
 * three fold to σ here.
 */
function unicodeFold(s: string): string {
  // ASCII needs no normalisation.
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return asciiLower(s);
  const lower = s.normalize('NFKD').toUpperCase().toLowerCase();
  return (lower.includes('ς') ? lower.replaceAll('ς', 'σ') : lower).normalize('NFKD');
}

export const unicodeCasemap: Comparator = {
  name: 'i;unicode-casemap',
  equals: (a, b) => a === b || unicodeFold(a) === unicodeFold(b),
  compare: (a, b) => octet.compare(unicodeFold(a), unicodeFold(b)),
  fold: unicodeFold,
  foldEquals: true,
  foldsBetweenSpaces: true,
};
