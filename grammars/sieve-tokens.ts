/**
 * Lexing a Sieve script into tokens, with the problems only the lexer can
 * see: malformed literals, over-long identifiers, numbers past the limit.
 */
import type { IToken, TokenType } from './chevrotain.js';
import type { Diagnostic } from '../src/diagnostics.js';
import {
  allTokens,
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
  Tag,
  UnterminatedComment,
  UnterminatedMultiLine,
  UnterminatedString,
  Variable,
} from './sieve-lexer.js';
import { decodeNumber, SIEVE_MAX_NUMBER } from './sieve-literals.js';
import { LineIndex } from './sieve-positions.js';
import { type Scan, scanSieve } from './sieve-scanner.js';

const errorTokens = new Set<TokenType>([UnterminatedComment, UnterminatedMultiLine, BadMultiLine, UnterminatedString]);

/** Tokens the lexer has already reported: the parser stays silent about them. */
export function isErrorToken(token: IToken): boolean {
  return errorTokens.has(token.tokenType);
}

export interface LexResult {
  /** The tokens, as types and offsets (sieve-scanner.ts). */
  scan: Scan;
  diagnostics: Diagnostic[];
  /** Lines and columns of the tokens' offsets. */
  lines: LineIndex;
  /** Whether some token is one of the error tokens (or Garbage), which the parser must see as objects of their own to report. */
  malformed: boolean;
}

/**
 * Tokens lexSieve looks at: the error tokens, and those with a length or
 * value limit; indexed by tokenTypeIdx, so that the other tokens (most of
 * them) cost one array read each.
 */
const checked: boolean[] = [];
for (const t of [Identifier, Tag, NumberLiteral, ...errorTokens, Garbage]) checked[t.tokenTypeIdx!] = true;

/** Token types by tokenTypeIdx. */
const typeOf: TokenType[] = [];
for (const t of allTokens) typeOf[t.tokenTypeIdx!] = t;

export function lexSieve(text: string, limits: { maxIdentifierLength: number }): LexResult {
  const scan = scanSieve(text);
  const lines = new LineIndex(text);
  const diagnostics: Diagnostic[] = [];
  const { types, starts, stops } = scan;
  let malformed = false;
  const error = (i: number, message: string) => diagnostics.push({ severity: 'error', message, ...lines.position(starts[i]!) });
  for (let i = 0; i < scan.count; i++) {
    // Most tokens need no check: one look-up instead of a chain of comparisons.
    if (checked[types[i]!] !== true) continue;
    const type = typeOf[types[i]!];
    const length = stops[i]! - starts[i]!;
    switch (type) {
      case Identifier:
        if (length > limits.maxIdentifierLength) {
          error(i, `identifier '${scan.image(i)}' is too long (more than ${limits.maxIdentifierLength} characters)`);
        }
        break;
      case Tag:
        if (length - 1 > limits.maxIdentifierLength) {
          error(i, `tag '${scan.image(i)}' is too long (more than ${limits.maxIdentifierLength} characters)`);
        }
        break;
      case NumberLiteral: {
        const image = scan.image(i);
        if (/^[0-9]+[KMGkmg]?$/.test(image) && decodeNumber(image).overflow) error(i, `number ${image} exceeds the integer limit (${SIEVE_MAX_NUMBER})`);
        break;
      }
      case UnterminatedString:
        malformed = true;
        error(i, 'end of script before the end of the quoted string started here');
        break;
      case UnterminatedComment:
        malformed = true;
        error(i, `end of script before the end of the bracket comment ('/* ... */') started here`);
        break;
      case UnterminatedMultiLine:
        malformed = true;
        error(i, `end of script before the end of the multi-line string started here (a line holding only '.' ends it)`);
        break;
      case BadMultiLine:
        malformed = true;
        error(i, `'text:' must be followed by a line break (or a '#' comment) before the text`);
        break;
      case Garbage:
        malformed = true;
        error(i, `unexpected character(s) ${quoteGarbage(scan.image(i))}`);
        break;
    }
  }
  // A hash comment ends with a line break (RFC 5228 2.3); Pigeonhole warns
  // when the last one runs into the end of the file.
  const last = scan.lastHashComment;
  if (last && last.end === text.length) {
    diagnostics.push({ severity: 'warning', message: 'no line break at the end of the hash comment at the end of the script', ...lines.position(last.start) });
  }
  return { scan, diagnostics, lines, malformed };
}

/** Token objects as Chevrotain's lexer makes them, with their own offsets and images: for a parse that reports errors. */
export function tokenObjects(scan: Scan): IToken[] {
  const tokens = new Array<IToken>(scan.count);
  for (let i = 0; i < scan.count; i++) {
    const tokenType = typeOf[scan.types[i]!]!;
    tokens[i] = { image: scan.image(i), startOffset: scan.starts[i]!, tokenTypeIdx: tokenType.tokenTypeIdx!, tokenType } as IToken;
  }
  return tokens;
}

/**
 * One shared token object per type, with no offset or image of its own:
 * enough for Chevrotain to recognise a script (it looks at types only),
 * while the actions read offsets and images from the Scan. Messages need a
 * token's own offset, so a parse that finds an error is run again over
 * tokenObjects.
 */
const shared: IToken[] = [];
for (const t of allTokens) shared[t.tokenTypeIdx!] = { image: '', startOffset: Number.NaN, tokenTypeIdx: t.tokenTypeIdx!, tokenType: t } as IToken;

/** Tokens `from` to just before `to` of the Scan (all of them by default), as shared objects. */
export function sharedTokens(scan: Scan, from = 0, to = scan.count): IToken[] {
  // Room for the end-of-input tokens Chevrotain appends before a parse
  // (onBeforeParse): an array made at its exact size was copied whole for them.
  const tokens = new Array<IToken>(to - from + 8);
  tokens.length = to - from;
  const types = scan.types;
  for (let i = from; i < to; i++) tokens[i - from] = shared[types[i]!]!;
  return tokens;
}

/** Token `i` of the Scan as a shared object. */
export const sharedToken = (scan: Scan, i: number): IToken => shared[scan.types[i]!]!;

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
