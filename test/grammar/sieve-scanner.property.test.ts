/**
 * The hand-written Sieve lexer (grammars/sieve-scanner.ts) against the
 * token patterns it must agree with: Chevrotain's lexer over
 * sieve-lexer.ts's regular expressions, the readable definition of Sieve's
 * tokens (RFC 5228 8.1). For any text both give the same tokens (type,
 * offset, image), the same runs of characters that start no token, and the
 * same last hash comment.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allTokens, Garbage, sieveLexerConfig } from '../../grammars/sieve-lexer.js';
import { Lexer } from '../../grammars/chevrotain.js';
import { scanSieve } from '../../grammars/sieve-scanner.js';
import { buildScript } from '../../bench/sieve-script.js';

const reference = new Lexer(allTokens, sieveLexerConfig);

type Tok = [type: string, start: number, image: string];

/** Chevrotain's tokens, with each run it could not lex as a Garbage token in offset order, as lexSieve reports them. */
function chevrotain(text: string): { tokens: Tok[]; lastComment: number | null } {
  const r = reference.tokenize(text);
  const tokens: Tok[] = r.tokens.map((t) => [t.tokenType.name, t.startOffset, t.image]);
  for (const e of r.errors) tokens.push([Garbage.name, e.offset, text.substr(e.offset, e.length)]);
  tokens.sort((a, b) => a[1] - b[1]);
  const last = r.groups.comments?.at(-1);
  return { tokens, lastComment: last ? last.startOffset : null };
}

function scanner(text: string): { tokens: Tok[]; lastComment: number | null } {
  const scan = scanSieve(text);
  const names = new Map(allTokens.map((t) => [t.tokenTypeIdx!, t.name]));
  const tokens: Tok[] = [];
  for (let i = 0; i < scan.count; i++) tokens.push([names.get(scan.types[i]!)!, scan.starts[i]!, scan.image(i)]);
  return { tokens, lastComment: scan.lastHashComment ? scan.lastHashComment.start : null };
}

const same = (text: string): void => {
  expect(scanner(text)).toEqual(chevrotain(text));
};

/** Pieces that sit on every boundary of the token patterns. */
const piece = fc.constantFrom(
  'if', 'Text', 'text', 'TEXT:', 'text:', 'tExt: ', 'text:\t#c', ':', ':a', ':_1', '$', '$x', '$1', '-', '-1', '1', '1.', '1.5', '10K', '7g', 'm',
  '"', '\\', '\\"', '"a"', '""', '#', '# c', '/', '/*', '*/', '*', '.', '..', '.\r', '\r', '\n', '\r\n', ' ', '\t',
  ';', ',', '{', '}', '(', ')', '[', ']', '=', '@', '%', '\u0000', '\u00e9', '\u{1F600}', '\u000b', 'x_y', '_',
);

describe('the hand-written lexer gives the tokens of the patterns in sieve-lexer.ts', () => {
  it('for texts made of pieces on the patterns\' boundaries', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (parts) => same(parts.join(''))),
      { numRuns: 3000 },
    );
  });

  it('for any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 60 }), same), { numRuns: 1000 });
  });

  it('for multi-line strings, terminated or not, with CRLF, LF and lone CR', () => {
    const line = fc.constantFrom('', '.', '..', '.x', 'a', '. ', '.\r', 'x\r');
    const eol = fc.constantFrom('\n', '\r\n', '\r', '');
    const body = fc.array(fc.tuple(line, eol).map(([l, e]) => l + e), { maxLength: 6 });
    fc.assert(
      fc.property(fc.constantFrom('text:', 'TEXT: ', 'text:\t# c'), eol, body, fc.constantFrom('', ';', ' keep;'), (head, first, lines, after) =>
        same(head + first + lines.join('') + after),
      ),
      { numRuns: 2000 },
    );
  });

  it('for the benchmark\'s 1 MiB script', () => {
    const text = buildScript(1 << 20);
    const a = scanner(text);
    const b = chevrotain(text);
    expect(a.tokens.length).toBe(b.tokens.length);
    expect(a).toEqual(b);
  });
});
