/**
 * Property tests for the Sieve parser: whatever the input, it returns an AST
 * and positioned diagnostics, never an exception; printing a generated AST
 * then parsing it gives the same AST back; and parsing in pieces between
 * turns of the event loop gives what one parse gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultParseLimits, lexSieve, parseSieve, parseSieveInSlices } from '../../grammars/sieve.js';
import { type Piece, piecesOf } from '../../grammars/sieve-pieces.js';
import type { Statement } from '../../src/sieve/ast.js';

function checkShape(text: string) {
  const r = parseSieve(text);
  expect(r.script.kind).toBe('script');
  for (const d of r.diagnostics) {
    expect(['error', 'warning']).toContain(d.severity);
    expect(d.message.length).toBeGreaterThan(0);
    expect(d.line).toBeGreaterThanOrEqual(1);
    expect(d.column).toBeGreaterThanOrEqual(1);
    expect(d.offset).toBeGreaterThanOrEqual(0);
    expect(d.offset).toBeLessThanOrEqual(text.length);
    // Messages name what was found in Sieve's words, never a token-type name.
    expect(d.message).not.toMatch(/\b(LCurly|RCurly|Semicolon|Identifier|QuotedString|MismatchedToken|NoViableAlt)\b/);
  }
}

const fragment = fc.constantFrom(
  'if', 'keep', 'header', 'anyof', 'not', 'require', 'x_1', ':is', ':contains', ':', '$x', '$', '$h["k"]', '=',
  '"str"', '"a\\"b', '"', '["a", "b"]', '[', ']', '(', ')', '{', '}', ';', ',', '10K', '99999999999999999999999',
  'text:\nline\n..dot\n.\n', 'text:', 'text: # c\n', '# comment\n', '/* c */', '/*', '*/', '@', '\u0000', 'é', '\r\n', '\t',
);

describe('the Sieve parser never throws', () => {
  it('on arbitrary Unicode text', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), checkShape), { numRuns: 400 });
  });

  it('on arbitrary bytes read as Latin-1', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => checkShape(Buffer.from(bytes).toString('latin1'))), { numRuns: 300 });
  });

  it('on soups of Sieve tokens, valid and broken', () => {
    fc.assert(
      fc.property(fc.array(fragment, { maxLength: 120 }), fc.constantFrom(' ', '\n', ''), (parts, sep) => checkShape(parts.join(sep))),
      { numRuns: 1500 },
    );
  });

  it('on deep nesting of every bracket kind', () => {
    fc.assert(
      fc.property(fc.constantFrom('{', '(', '[', 'not ', 'if true {', 'anyof('), fc.integer({ min: 1, max: 5000 }), (open, n) =>
        checkShape(`if ${open.repeat(n)}`),
      ),
      { numRuns: 60 },
    );
  });
});

// ---------------------------------------------------------------- round trip

type GString = { kind: 'string'; value: string; multiline: boolean };
type GArg = GString | { kind: 'stringlist'; items: GString[] } | { kind: 'number'; value: number; raw: string } | { kind: 'tag'; name: string; raw: string };
type GTest = { kind: 'test'; name: string; raw: string; arguments: GArg[]; tests: GTest[]; testList: boolean };
type GCommand = { kind: 'command'; name: string; raw: string; arguments: GArg[]; tests: GTest[]; testList: boolean; block: GCommand[] | null };

const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
const quoted = fc.string({ maxLength: 12 }).map((value): GString => ({ kind: 'string', value: value.replace(/\r?\n|\r/g, '\r\n').replace(/\r(?!\n)/g, ''), multiline: false }));
const multi = fc
  .array(fc.stringMatching(/^[^\r\n]{0,10}$/), { maxLength: 4 })
  .map((lines): GString => ({ kind: 'string', value: lines.map((l) => `${l}\r\n`).join(''), multiline: true }));
const gstring = fc.oneof(quoted, multi);
const garg: fc.Arbitrary<GArg> = fc.oneof(
  gstring,
  fc.array(quoted, { minLength: 1, maxLength: 3 }).map((items) => ({ kind: 'stringlist' as const, items })),
  fc.tuple(fc.nat(100000), fc.constantFrom('', 'K', 'M', 'G')).map(([n, q]) => ({
    kind: 'number' as const,
    value: n * ({ '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as Record<string, number>)[q]!,
    raw: `${n}${q}`,
  })),
  ident.map((raw) => ({ kind: 'tag' as const, name: raw.toLowerCase(), raw: `:${raw}` })),
);
const { test: gtest } = fc.letrec<{ test: GTest }>((tie) => ({
  test: fc
    .record({
      raw: ident,
      arguments: fc.array(garg, { maxLength: 3 }),
      tests: fc.oneof({ depthSize: 'small' }, fc.constant([] as GTest[]), fc.array(tie('test'), { minLength: 1, maxLength: 3 })),
      testList: fc.boolean(),
    })
    .map((t) => ({ kind: 'test' as const, name: t.raw.toLowerCase(), ...t, testList: t.tests.length > 1 || (t.tests.length === 1 && t.testList) })),
}));
const { command: gcommand } = fc.letrec<{ command: GCommand }>((tie) => ({
  command: fc
    .record({
      raw: ident,
      arguments: fc.array(garg, { maxLength: 3 }),
      tests: fc.oneof(fc.constant([] as GTest[]), fc.array(gtest, { minLength: 1, maxLength: 2 })),
      testList: fc.boolean(),
      block: fc.oneof({ depthSize: 'small' }, fc.constant(null), fc.array(tie('command'), { maxLength: 3 })),
    })
    .map((c) => ({ kind: 'command' as const, name: c.raw.toLowerCase(), ...c, testList: c.tests.length > 1 || (c.tests.length === 1 && c.testList) })),
}));

function printString(s: GString): string {
  if (!s.multiline) return `"${s.value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  const body = s.value === '' ? [] : s.value.slice(0, -2).split('\r\n');
  return `text:\n${body.map((l) => (l.startsWith('.') ? `.${l}` : l)).join('\n')}${body.length ? '\n' : ''}.\n`;
}
function printArg(a: GArg): string {
  switch (a.kind) {
    case 'string':
      return printString(a);
    case 'stringlist':
      return `[${a.items.map(printString).join(', ')}]`;
    default:
      return a.raw;
  }
}
function printTests(tests: GTest[], list: boolean): string {
  if (!tests.length) return '';
  return list ? ` (${tests.map(printTest).join(', ')})` : ` ${printTest(tests[0]!)}`;
}
function printTest(t: GTest): string {
  return [t.raw, ...t.arguments.map(printArg)].join(' ') + printTests(t.tests, t.testList);
}
function printCommand(c: GCommand): string {
  const head = [c.raw, ...c.arguments.map(printArg)].join(' ') + printTests(c.tests, c.testList);
  return c.block === null ? `${head};` : `${head} {\n${c.block.map(printCommand).join('\n')}\n}`;
}

/**
 * The AST without positions, for comparison with what was generated. A
 * node's fields are its enumerable ones, own or its class's (`kind`, `raw`
 * and `multiline` are the class's: grammars/sieve-nodes.ts).
 */
function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (value && typeof value === 'object') {
    const plain: Record<string, unknown> = {};
    for (const k in value) if (k !== 'pos' && k !== 'end') plain[k] = strip((value as Record<string, unknown>)[k]);
    return plain;
  }
  return value;
}

describe('printing and parsing round-trip', () => {
  it('gives back the AST that was printed', () => {
    fc.assert(
      fc.property(fc.array(gcommand, { maxLength: 4 }), (commands) => {
        const text = commands.map(printCommand).join('\n');
        const r = parseSieve(text);
        expect(r.diagnostics).toEqual([]);
        expect(strip(r.script.commands)).toEqual(commands);
      }),
      { numRuns: 400 },
    );
  });
});

// ------------------------------------------------------------ positions

/** Line and column of an offset, counted here independently: "\r\n", "\n" and a lone "\r" end a line. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    const c = text[i];
    if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** Every node of an AST (nodes are the objects with a `kind`). */
function nodesOf(value: unknown, out: Array<{ kind: string; raw?: string; pos: { line: number; column: number; offset: number }; end: { offset: number } }> = []) {
  if (Array.isArray(value)) for (const v of value) nodesOf(v, out);
  else if (value && typeof value === 'object') {
    if ('kind' in value) out.push(value as (typeof out)[number]);
    for (const v of Object.values(value)) nodesOf(v, out);
  }
  return out;
}

describe('positions, computed when asked', () => {
  it('agree with the text for every node, whatever the line endings', () => {
    fc.assert(
      fc.property(fc.array(gcommand, { minLength: 1, maxLength: 4 }), fc.constantFrom('\n', '\r\n'), (commands, eol) => {
        const text = commands.map(printCommand).join('\n').replace(/\n/g, eol);
        const r = parseSieve(text);
        expect(r.diagnostics).toEqual([]);
        for (const node of nodesOf(r.script.commands)) {
          expect(node.pos).toEqual({ ...lineColumn(text, node.pos.offset), offset: node.pos.offset });
          if (node.raw !== undefined) expect(text.startsWith(node.raw, node.pos.offset)).toBe(true);
          if (node.kind === 'command') expect(';}').toContain(text[node.end.offset - 1]);
          expect(node.end.offset).toBeGreaterThan(node.pos.offset);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('a parse that finds an error', () => {
  // A valid script is parsed over shared token objects, one with an error
  // over tokens of their own (grammars/sieve.ts): both must build the same AST.
  it('builds the same AST, positions included, for the commands before the error', () => {
    const shape = (commands: unknown) => nodesOf(commands).map((n) => [n.kind, n.pos, n.end]);
    fc.assert(
      fc.property(fc.array(gcommand, { minLength: 1, maxLength: 4 }), fc.constantFrom('\n}', '\n"stray"', '\nx @', '\n"open'), (commands, broken) => {
        const text = commands.map(printCommand).join('\n');
        const valid = parseSieve(text);
        const invalid = parseSieve(text + broken);
        expect(valid.diagnostics).toEqual([]);
        expect(invalid.diagnostics.length).toBeGreaterThan(0);
        const before = invalid.script.commands.slice(0, valid.script.commands.length);
        expect(strip(before)).toEqual(strip(valid.script.commands));
        expect(shape(before)).toEqual(shape(valid.script.commands));
      }),
      { numRuns: 300 },
    );
  });
});

describe('a parse in pieces (parseSieveInSlices)', () => {
  // Everything a parse gives: the tree, every node's position and end, the
  // script's own, and the diagnostics.
  const everything = (r: ReturnType<typeof parseSieve>) => ({
    tree: strip(r.script.commands),
    places: nodesOf(r.script.commands).map((n) => [n.kind, n.pos, n.end]),
    script: [r.script.pos, r.script.end],
    diagnostics: r.diagnostics,
  });
  const sieveppStatement = fc.constantFrom('$x = "a";', '($a, $b) = split "a,b" ",";', '$h["k"] = lookup :x $y;', 'if $x { keep; }');
  // Statements, some of them blocks (nested up to three deep) of several statements: a block of more
  // than twice pieceTokens is parsed in pieces of its own.
  const statement: fc.Arbitrary<string> = fc.letrec<{ s: string }>((tie) => ({
    s: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      gcommand.map(printCommand),
      sieveppStatement,
      fc.tuple(fc.constantFrom('if true', 'if anyof (false, exists "x")', 'foreverypart :name "x"', 'elsif exists "a"', 'else'), fc.array(tie('s'), { minLength: 1, maxLength: 5 })).map(([head, body]) => `${head} {\n${body.join('\n')}\n}`),
      // Test lists of several tests, some nested, under the command or under one of its tests.
      fc.tuple(fc.constantFrom('if', 'if not', 'if allof (true,', 'elsif', 'x'), fc.array(gtest.map(printTest), { minLength: 2, maxLength: 8 }), fc.constantFrom(' { keep; }', ';')).map(([head, tests, end]) => `${head.endsWith(',') ? `${head} anyof (${tests.join(', ')}))` : `${head} anyof (${tests.join(', ')})`}${end}`),
    ),
  })).s;

  /** Whether every piece of a cut with one token a run holds one statement, and every block piece one statement whose block is cut the same way. */
  function oneStatementEach(pieces: Piece[], statements: readonly Statement[]): boolean {
    return pieces.length === statements.length && pieces.every((p, i) => p.kind !== 'block' || oneStatementEach(p.body, (statements[i] as { block: Statement[] }).block));
  }

  it('gives what one parse gives, cut after any statement, in blocks and test lists too', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(statement, { maxLength: 8 }), fc.integer({ min: 1, max: 40 }), fc.constantFrom('\n', '\r\n', ' '), async (statements, pieceTokens, sep) => {
        const text = statements.join(sep);
        const whole = parseSieve(text);
        expect(whole.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
        // A cut after every statement, and only there, blocks included: no valid script falls back to one parse.
        expect(oneStatementEach(piecesOf(lexSieve(text, defaultParseLimits).scan, 1), whole.script.commands)).toBe(true);
        expect(everything(await parseSieveInSlices(text, { sliceMs: 0, pieceTokens }))).toEqual(everything(whole));
      }),
      { numRuns: 300 },
    );
  });

  it('gives what one parse gives for a script with mistakes, messages included', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fragment, { maxLength: 120 }), fc.constantFrom(' ', '\n', ''), fc.integer({ min: 1, max: 20 }), async (parts, sep, pieceTokens) => {
        const text = parts.join(sep);
        for (const dialect of ['momentum', 'rfc'] as const) {
          expect(everything(await parseSieveInSlices(text, { sliceMs: 0, pieceTokens, dialect, file: 'x.siv' }))).toEqual(everything(parseSieve(text, { dialect, file: 'x.siv' })));
        }
      }),
      { numRuns: 600 },
    );
  });
});
