/**
 * Tokens of Momentum's configuration syntax (see ecconf.ts for the grammar).
 * Keys, names and values share one token category, Word, so that the parser
 * takes a number or a keyword wherever a name is allowed.
 */
import { Lexer, type TokenType, createToken } from './chevrotain.js';

export const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n\f\v]+/, group: Lexer.SKIPPED, line_breaks: true });
export const LineComment = createToken({ name: 'LineComment', pattern: /#[^\n]*/, group: Lexer.SKIPPED });

/**
 * `/* ... *\/`. An unterminated comment runs to the end of the input (a custom
 * matcher, because Chevrotain refuses `$` anchors); the lexer pass below turns
 * it into an error instead of failing on every character after it.
 */
export const BlockComment = createToken({
  name: 'BlockComment',
  pattern: {
    exec: (text: string, offset: number): RegExpExecArray | null => {
      if (!text.startsWith('/*', offset)) return null;
      const close = text.indexOf('*/', offset + 2);
      const end = close < 0 ? text.length : close + 2;
      const match = [text.slice(offset, end)] as unknown as RegExpExecArray;
      match.index = offset;
      match.input = text;
      return match;
    },
  },
  start_chars_hint: ['/'],
  line_breaks: true,
  group: 'comments',
});

/** Any scalar that is not quoted: names, keys, bare values, numbers, keywords. */
export const Word = createToken({ name: 'Word', pattern: Lexer.NA, label: 'a name or value' });

// A bare word stops at whitespace and at the characters Momentum says must be
// quoted (# " ' = { } [ ] ( )). `/` is allowed so that `10.0.0.0/8` and
// `validate/sieve` stay bare, except where it opens a comment.
export const Bare = createToken({ name: 'Bare', pattern: /(?:[^\s#"'={}[\]()/]|\/(?!\*))+/, categories: [Word], label: 'a name or value' });
export const NumberTok = createToken({ name: 'Number', pattern: /-?\d+(?:\.\d+)?/, longer_alt: Bare, categories: [Word], label: 'a number' });
export const ReadonlyInclude = createToken({ name: 'ReadonlyInclude', pattern: /readonly_include/i, longer_alt: Bare, categories: [Word], label: "'readonly_include'" });
export const Include = createToken({ name: 'Include', pattern: /include/i, longer_alt: Bare, categories: [Word], label: "'include'" });

export const Quoted = createToken({ name: 'Quoted', pattern: /"(?:[^"\\\n]|\\[^\n])*"|'(?:[^'\\\n]|\\[^\n])*'/, label: 'a quoted string' });
/** A quote that never closes on its line: parsed as a string, reported once by the lexer pass. */
export const Unterminated = createToken({ name: 'Unterminated', pattern: /"(?:[^"\\\n]|\\[^\n])*\\?|'(?:[^'\\\n]|\\[^\n])*\\?/, categories: [Quoted], label: 'a quoted string' });

export const LCurly = createToken({ name: 'LCurly', pattern: '{', label: "'{'" });
export const RCurly = createToken({ name: 'RCurly', pattern: '}', label: "'}'" });
export const LParen = createToken({ name: 'LParen', pattern: '(', label: "'('" });
export const RParen = createToken({ name: 'RParen', pattern: ')', label: "')'" });
export const LBracket = createToken({ name: 'LBracket', pattern: '[', label: "'['" });
export const RBracket = createToken({ name: 'RBracket', pattern: ']', label: "']'" });
export const Equals = createToken({ name: 'Equals', pattern: '=', label: "'='" });

export const allTokens: TokenType[] = [
  WhiteSpace, LineComment, BlockComment,
  Quoted, Unterminated,
  LCurly, RCurly, LParen, RParen, LBracket, RBracket, Equals,
  ReadonlyInclude, Include, NumberTok, Bare, Word,
];

/** Validated where the tokens are tested (grammars/chevrotain.ts, GrammarOptions). */
export const lexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: false, skipValidations: true });
