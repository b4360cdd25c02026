/**
 * Lexing a Sieve script into tokens, with the problems only the lexer can
 * see: malformed literals, over-long identifiers, numbers past the limit.
 */
import type { ILexingError, IToken, TokenType } from './chevrotain.js';
import type { Diagnostic } from '../src/diagnostics.js';
import {
  BadMultiLine,
  Comma,
  Equals,
  Garbage,
  HashComment,
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
  sieveLexer,
  Tag,
  UnterminatedComment,
  UnterminatedMultiLine,
  UnterminatedString,
  Variable,
} from './sieve-lexer.js';
import { decodeNumber, SIEVE_MAX_NUMBER } from './sieve-literals.js';
import { LineIndex } from './sieve-positions.js';

const errorTokens = new Set<TokenType>([UnterminatedComment, UnterminatedMultiLine, BadMultiLine, UnterminatedString]);

/** Tokens the lexer has already reported: the parser stays silent about them. */
export function isErrorToken(token: IToken): boolean {
  return errorTokens.has(token.tokenType);
}

export interface LexResult {
  tokens: IToken[];
  diagnostics: Diagnostic[];
  /** Lines and columns of the tokens' offsets. */
  lines: LineIndex;
}

/**
 * Tokens lexSieve looks at: the error tokens, and those with a length or
 * value limit; indexed by tokenTypeIdx, so that the other tokens (most of
 * them) cost one array read each.
 */
const checked: boolean[] = [];
for (const t of [Identifier, Tag, NumberLiteral, ...errorTokens, Garbage]) checked[t.tokenTypeIdx!] = true;

export function lexSieve(text: string, limits: { maxIdentifierLength: number }): LexResult {
  const result = sieveLexer.tokenize(text);
  const lines = new LineIndex(text);
  const diagnostics: Diagnostic[] = [];
  const error = (t: IToken, message: string, severity: Diagnostic['severity'] = 'error') => diagnostics.push({ severity, message, ...lines.start(t) });

  const tokens = result.errors.length ? withGarbageTokens(text, result.tokens, result.errors) : result.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    // Most tokens need no check: one look-up instead of a chain of comparisons.
    if (checked[t.tokenTypeIdx] !== true) continue;
    const type = t.tokenType;
    switch (type) {
      case Identifier:
        if (t.image.length > limits.maxIdentifierLength) {
          error(t, `identifier '${t.image}' is too long (more than ${limits.maxIdentifierLength} characters)`);
        }
        break;
      case Tag:
        if (t.image.length - 1 > limits.maxIdentifierLength) {
          error(t, `tag '${t.image}' is too long (more than ${limits.maxIdentifierLength} characters)`);
        }
        break;
      case NumberLiteral:
        if (/^[0-9]+[KMGkmg]?$/.test(t.image) && decodeNumber(t.image).overflow) error(t, `number ${t.image} exceeds the integer limit (${SIEVE_MAX_NUMBER})`);
        break;
      case UnterminatedString:
        error(t, 'end of script before the end of the quoted string started here');
        break;
      case UnterminatedComment:
        error(t, `end of script before the end of the bracket comment ('/* ... */') started here`);
        break;
      case UnterminatedMultiLine:
        error(t, `end of script before the end of the multi-line string started here (a line holding only '.' ends it)`);
        break;
      case BadMultiLine:
        error(t, `'text:' must be followed by a line break (or a '#' comment) before the text`);
        break;
      case Garbage:
        error(t, `unexpected character(s) ${quoteGarbage(t.image)}`);
        break;
    }
  }
  // A hash comment ends with a line break (RFC 5228 2.3); Pigeonhole warns
  // when the last one runs into the end of the file.
  const lastComment = result.groups.comments?.at(-1);
  if (lastComment && lastComment.startOffset + lastComment.image.length === text.length) {
    error(lastComment, 'no line break at the end of the hash comment at the end of the script', 'warning');
  }
  return { tokens, diagnostics, lines };
}

/** Turns each run of characters the lexer skipped into a Garbage token, in offset order. */
function withGarbageTokens(text: string, tokens: IToken[], errors: ILexingError[]): IToken[] {
  const garbage = errors.map((e): IToken => ({
    image: text.substr(e.offset, e.length),
    startOffset: e.offset,
    endOffset: e.offset + e.length - 1,
    tokenType: Garbage,
    tokenTypeIdx: Garbage.tokenTypeIdx!,
  }));
  const merged: IToken[] = [];
  let g = 0;
  for (const t of tokens) {
    while (g < garbage.length && garbage[g]!.startOffset < t.startOffset) merged.push(garbage[g++]!);
    merged.push(t);
  }
  while (g < garbage.length) merged.push(garbage[g++]!);
  return merged;
}

function quoteGarbage(image: string): string {
  const shown = image.length > 20 ? `${image.slice(0, 20)}...` : image;
  return `'${JSON.stringify(shown).slice(1, -1)}'`;
}

const punctuation = new Map<TokenType, string>([
  [Semicolon, ';'], [Comma, ','], [LCurly, '{'], [RCurly, '}'], [LParen, '('], [RParen, ')'],
  [LBracket, '['], [RBracket, ']'], [Equals, '='],
]);

/** How a token is named in messages: in Sieve's words, never a token-type name. */
export function describeToken(t: Pick<IToken, 'tokenType' | 'image'>): string {
  const p = punctuation.get(t.tokenType);
  if (p) return `'${p}'`;
  const short = (s: string) => (s.length > 30 ? `${s.slice(0, 30)}...` : s);
  switch (t.tokenType) {
    case Identifier:
      return t.image ? `identifier '${t.image}'` : 'an identifier';
    case Tag:
      return t.image ? `tag '${t.image}'` : 'a tag';
    case NumberLiteral:
      return t.image ? `number ${t.image}` : 'a number';
    case QuotedString:
      return t.image ? `string ${short(t.image)}` : 'a string';
    case MultiLine:
      return 'a multi-line string';
    case Variable:
      return t.image ? `variable '${t.image}'` : 'a variable';
    case Garbage:
      return quoteGarbage(t.image);
    case HashComment:
      return 'a comment';
    default:
      return t.tokenType?.name === 'EOF' ? 'end of script' : `'${short(t.image)}'`;
  }
}
