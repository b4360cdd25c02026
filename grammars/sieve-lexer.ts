/**
 * Tokens of Sieve (RFC 5228 section 8.1) and of Momentum's Sieve++ additions:
 * their types (which the parser consumes) and their patterns (the readable
 * definition, which sieve-scanner.ts implements by hand).
 *
 * The lexer never fails: every character belongs to some token. Malformed
 * input (an unterminated string or comment, characters that start no token)
 * becomes an error token that the parser reports with its position, so one
 * run reports every problem instead of stopping at the first.
 */
import { createToken, Lexer, type TokenType } from './chevrotain.js';

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
  label: 'text: multi-line',
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

/*
 * The string patterns are written as runs of plain characters between
 * escapes ("unrolled"), not as one alternation per character: the same
 * language, matched several times faster by the regular-expression engine.
 */
export const QuotedString = createToken({
  name: 'QuotedString',
  label: 'quoted-string',
  pattern: /"[^"\\]*(?:\\[\s\S][^"\\]*)*"/,
  line_breaks: true,
});

export const UnterminatedString = createToken({
  name: 'UnterminatedString',
  pattern: /"[^"\\]*(?:\\[\s\S][^"\\]*)*/,
  line_breaks: true,
});

/**
 * number = 1*DIGIT [ QUANTIFIER ]; QUANTIFIER = "K" / "M" / "G" (case-insensitive, as ABNF strings are).
 * Sieve++ numbers may also be negative or decimal (`-41.65`); the parser refuses those in the rfc dialect.
 */
export const NumberLiteral = createToken({ name: 'Number', pattern: /-?[0-9]+(?:\.[0-9]+)?[KMGkmg]?/, label: 'number' });

/** tag = ":" identifier */
export const Tag = createToken({ name: 'Tag', pattern: /:[A-Za-z_][A-Za-z0-9_]*/, label: ':tag' });

/** identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_") */
export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/, label: 'identifier' });

/** Sieve++: `$name`. */
export const Variable = createToken({ name: 'Variable', pattern: /\$[A-Za-z_][A-Za-z0-9_]*/, label: '$variable' });

export const Semicolon = createToken({ name: 'Semicolon', pattern: ';', label: "';'" });
export const Comma = createToken({ name: 'Comma', pattern: ',', label: "','" });
export const LCurly = createToken({ name: 'LCurly', pattern: '{', label: "'{'" });
export const RCurly = createToken({ name: 'RCurly', pattern: '}', label: "'}'" });
export const LParen = createToken({ name: 'LParen', pattern: '(', label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: ')', label: "')'" });
export const LBracket = createToken({ name: 'LBracket', pattern: '[', label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: ']', label: "']'" });
/** Sieve++ assignment. */
export const Equals = createToken({ name: 'Equals', pattern: '=', label: "'='" });

/**
 * A run of characters that start no token: `$$$`, a lone `:`, `@`, a stray
 * `/`, control characters, non-ASCII outside strings. It has no pattern:
 * the lexer's own error recovery finds such runs (which keeps the fast
 * first-character dispatch of every other token), and lexSieve() turns each
 * into a Garbage token, so that the parser also reports the command it
 * breaks, as Pigeonhole does.
 */
export const Garbage = createToken({ name: 'Garbage', pattern: Lexer.NA });

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

/**
 * How a Chevrotain lexer over these patterns is built: the reference the
 * hand-written lexer (sieve-scanner.ts) is tested against, and a baseline
 * of the parser benchmark. No lexer is built at load: the product lexes
 * with sieve-scanner.ts, and building one was start-up time for nothing.
 */
export const sieveLexerConfig = {
  positionTracking: 'onlyOffset',
  // Fail if a pattern would disable first-character dispatch.
  ensureOptimizations: true,
} as const;
