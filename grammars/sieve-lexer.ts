/**
 * Tokens of Sieve (RFC 5228 section 8.1) and of Momentum's Sieve++ additions.
 *
 * The lexer never fails: every character belongs to some token. Malformed
 * input (an unterminated string or comment, characters that start no token)
 * becomes an error token that the parser reports with its position, so one
 * run reports every problem instead of stopping at the first.
 */
import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /[ \t\r\n]+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/** hash-comment = "#" *CHAR-NOT-CRLF CRLF. Kept in a group: one at EOF without a newline earns a warning. */
export const HashComment = createToken({ name: 'HashComment', pattern: /#[^\r\n]*/, group: 'comments' });

/** bracket-comment = "/*" ... "*\/"; no nesting (RFC 5228 2.3). */
export const BracketComment = createToken({
  name: 'BracketComment',
  pattern: /\/\*[\s\S]*?\*\//,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/*
 * The error tokens below reach the parser, which expects none of them: it
 * reports nothing at such a token (the lexer already did) and recovers.
 */
export const UnterminatedComment = createToken({
  name: 'UnterminatedComment',
  pattern: /\/\*[\s\S]*/,
  line_breaks: true,
});

/**
 * multi-line = "text:" *(SP / HTAB) (hash-comment / CRLF) *line "." CRLF
 * (RFC 5228 2.4.2). Line ends may be bare LF, as in Pigeonhole. The last
 * line may end the file without a line break.
 */
export const MultiLine = createToken({
  name: 'MultiLine',
  pattern: /text:[ \t]*(?:#[^\r\n]*)?\r?\n(?:[^\r\n]*\r?\n)*?\.(?:\r?\n|(?![\s\S]))/i,
  line_breaks: true,
  start_chars_hint: ['t', 'T'],
});

export const UnterminatedMultiLine = createToken({
  name: 'UnterminatedMultiLine',
  pattern: /text:[ \t]*(?:#[^\r\n]*)?(?:\r?\n[\s\S]*|(?![\s\S]))/i,
  line_breaks: true,
  start_chars_hint: ['t', 'T'],
});

/** `text:` followed by something other than a comment or a line break. */
export const BadMultiLine = createToken({
  name: 'BadMultiLine',
  pattern: /text:/i,
  start_chars_hint: ['t', 'T'],
});

export const QuotedString = createToken({
  name: 'QuotedString',
  pattern: /"(?:[^"\\]|\\[\s\S])*"/,
  line_breaks: true,
});

export const UnterminatedString = createToken({
  name: 'UnterminatedString',
  pattern: /"(?:[^"\\]|\\[\s\S])*/,
  line_breaks: true,
});

/** number = 1*DIGIT [ QUANTIFIER ]; QUANTIFIER = "K" / "M" / "G" (case-insensitive, as ABNF strings are). */
export const NumberLiteral = createToken({ name: 'Number', pattern: /[0-9]+[KMGkmg]?/ });

/** tag = ":" identifier */
export const Tag = createToken({ name: 'Tag', pattern: /:[A-Za-z_][A-Za-z0-9_]*/ });

/** identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_") */
export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

/** Sieve++: `$name`. */
export const Variable = createToken({ name: 'Variable', pattern: /\$[A-Za-z_][A-Za-z0-9_]*/ });

export const Semicolon = createToken({ name: 'Semicolon', pattern: ';' });
export const Comma = createToken({ name: 'Comma', pattern: ',' });
export const LCurly = createToken({ name: 'LCurly', pattern: '{' });
export const RCurly = createToken({ name: 'RCurly', pattern: '}' });
export const LParen = createToken({ name: 'LParen', pattern: '(' });
export const RParen = createToken({ name: 'RParen', pattern: ')' });
export const LBracket = createToken({ name: 'LBracket', pattern: '[' });
export const RBracket = createToken({ name: 'RBracket', pattern: ']' });
/** Sieve++ assignment. */
export const Equals = createToken({ name: 'Equals', pattern: '=' });

/**
 * A run of characters that start no token: `$$$`, a lone `:`, `@`, a stray
 * `/`, control characters, non-ASCII outside strings. The parser sees it
 * (so the command it stands in is reported too, as Pigeonhole does).
 */
export const Garbage = createToken({
  name: 'Garbage',
  pattern: {
    exec(text: string, offset: number): RegExpExecArray | null {
      let end = offset;
      while (end < text.length && isGarbageAt(text, end)) end++;
      if (end === offset) return null;
      const match = [text.slice(offset, end)] as unknown as RegExpExecArray;
      match.index = offset;
      match.input = text;
      return match;
    },
  },
  line_breaks: false,
});

function isGarbageAt(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  const next = text.charCodeAt(i + 1);
  switch (c) {
    case 0x20: case 0x09: case 0x0d: case 0x0a: // white space
    case 0x22: case 0x23: // " #
    case 0x28: case 0x29: case 0x5b: case 0x5d: case 0x7b: case 0x7d: // ( ) [ ] { }
    case 0x3b: case 0x2c: case 0x3d: // ; , =
      return false;
    case 0x24: // $ starts a variable when a name follows
    case 0x3a: // : starts a tag when a name follows
      return !isNameStart(next);
    case 0x2f: // / starts a comment when * follows
      return next !== 0x2a;
    default:
      return !(isNameStart(c) || (c >= 0x30 && c <= 0x39));
  }
}

function isNameStart(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** Order matters: the first pattern that matches wins, so longer forms come first. */
export const allTokens: TokenType[] = [
  WhiteSpace,
  HashComment,
  BracketComment,
  UnterminatedComment,
  MultiLine,
  UnterminatedMultiLine,
  BadMultiLine,
  QuotedString,
  UnterminatedString,
  NumberLiteral,
  Tag,
  Identifier,
  Variable,
  Semicolon,
  Comma,
  LCurly,
  RCurly,
  LParen,
  RParen,
  LBracket,
  RBracket,
  Equals,
  Garbage,
];

export const sieveLexer = new Lexer(allTokens, {
  positionTracking: 'full',
  // Identifier-like patterns with a case-insensitive flag cannot be analysed
  // for first-character optimisation without the hints given above.
  ensureOptimizations: false,
});
