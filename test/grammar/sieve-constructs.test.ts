/**
 * Every construct of RFC 5228 section 8 and of the Sieve++ forms, parsed
 * into the AST with the right values and positions.
 */
import { describe, expect, it } from 'vitest';
import { defaultParseLimits, parseSieve } from '../../grammars/sieve.js';
import type { Argument, Command, StringArg } from '../../src/sieve/ast.js';

function parseOk(text: string, dialect: 'momentum' | 'rfc' = 'momentum') {
  const r = parseSieve(text, { dialect });
  expect(r.diagnostics).toEqual([]);
  return r.script;
}
const first = (text: string) => parseOk(text).commands[0] as Command;
const str = (a: Argument | undefined) => (a as StringArg).value;

describe('commands and blocks', () => {
  it('parses commands ending with ";" and with a block', () => {
    const s = parseOk('keep;\nif true { discard; stop; }\n');
    expect(s.commands.map((c) => c.kind === 'command' && c.name)).toEqual(['keep', 'if']);
    const ifc = s.commands[1] as Command;
    expect(ifc.block?.map((c) => (c as Command).name)).toEqual(['discard', 'stop']);
    expect((s.commands[0] as Command).block).toBeNull();
  });

  it('parses an empty script, and a script of only comments and white space', () => {
    expect(parseOk('').commands).toEqual([]);
    expect(parseOk('# nothing\n/* at\nall */\r\n\t \n').commands).toEqual([]);
  });

  it('keeps identifiers as written and lower-cases their name (RFC 5228 2.9)', () => {
    const c = first('KeEp;');
    expect(c.name).toBe('keep');
    expect(c.raw).toBe('KeEp');
  });

  it('parses empty and nested blocks', () => {
    const c = first('if true { if false { } }');
    const inner = c.block?.[0] as Command;
    expect(inner.name).toBe('if');
    expect(inner.block).toEqual([]);
  });

  it('parses if / elsif / else chains as sibling commands', () => {
    const s = parseOk('if false { keep; } elsif true { discard; } else { stop; }');
    expect(s.commands.map((c) => (c as Command).name)).toEqual(['if', 'elsif', 'else']);
  });
});

describe('arguments', () => {
  it('parses tags, numbers, strings and string lists in order', () => {
    const c = first('cmd :tag 10 "s" ["a", "b"];');
    expect(c.arguments.map((a) => a.kind)).toEqual(['tag', 'number', 'string', 'stringlist']);
    expect(c.arguments[0]).toMatchObject({ kind: 'tag', name: 'tag', raw: ':tag' });
    expect(c.arguments[3]).toMatchObject({ kind: 'stringlist', items: [{ value: 'a' }, { value: 'b' }] });
  });

  it('lower-cases tag names', () => {
    expect(first('x :CoNtAiNs;').arguments[0]).toMatchObject({ name: 'contains', raw: ':CoNtAiNs' });
  });

  it.each([
    ['0', 0],
    ['42', 42],
    ['1K', 1024],
    ['2k', 2048],
    ['3M', 3 * 1024 * 1024],
    ['1G', 1024 ** 3],
    ['18446744073709551615', 18446744073709551615],
  ])('number %s is %d (quantifiers K, M, G, RFC 5228 2.4.1)', (raw, value) => {
    expect(first(`size :over ${raw};`).arguments[1]).toMatchObject({ kind: 'number', value, raw });
  });

  it('parses a one-element string list as a list, distinct from a lone string', () => {
    const c = first('x ["a"] "a";');
    expect(c.arguments[0]?.kind).toBe('stringlist');
    expect(c.arguments[1]?.kind).toBe('string');
  });
});

describe('tests and test lists', () => {
  it('parses a single test with its own arguments', () => {
    const c = first('if header :is "to" "me" { keep; }');
    expect(c.testList).toBe(false);
    expect(c.tests).toHaveLength(1);
    expect(c.tests[0]).toMatchObject({ kind: 'test', name: 'header', testList: false });
    expect(c.tests[0]?.arguments.map((a) => a.kind)).toEqual(['tag', 'string', 'string']);
  });

  it('parses a test list and nested tests', () => {
    const c = first('if anyof (not exists "x", allof (true, false)) { keep; }');
    const anyof = c.tests[0]!;
    expect(anyof.testList).toBe(true);
    expect(anyof.tests.map((t) => t.name)).toEqual(['not', 'allof']);
    expect(anyof.tests[0]?.tests[0]?.name).toBe('exists');
    expect(anyof.tests[1]?.tests.map((t) => t.name)).toEqual(['true', 'false']);
  });

  it('parses a command that takes a test without a block (grammar-wise)', () => {
    const c = first('keep true;');
    expect(c.tests[0]?.name).toBe('true');
    expect(c.block).toBeNull();
  });
});

describe('quoted strings (RFC 5228 2.4.2)', () => {
  it.each([
    ['"plain"', 'plain'],
    ['"a\\"b"', 'a"b'],
    ['"a\\\\b"', 'a\\b'],
    ['"\\a\\a\\a"', 'aaa'],
    ['"\\x\\y\\*"', 'xy*'],
    ['"trailing\\\\"', 'trailing\\'],
    ['""', ''],
    ['"# not a comment /* nor this */"', '# not a comment /* nor this */'],
    ['"ünïcödé"', 'ünïcödé'],
  ])('%s means %j', (src, value) => {
    expect(str(first(`x ${src};`).arguments[0])).toBe(value);
  });

  it('keeps line breaks inside a quoted string, as CRLF', () => {
    expect(str(first('x "a\nb\r\nc";').arguments[0])).toBe('a\r\nb\r\nc');
  });
});

describe('multi-line strings (RFC 5228 2.4.2)', () => {
  it('undoes dot-stuffing and keeps lines starting with a single dot', () => {
    const v = str(first('x text:\nLine 1\n.Line 2\n..Line 3\n.\n;').arguments[0]);
    expect(v).toBe('Line 1\r\n.Line 2\r\n.Line 3\r\n');
  });

  it('allows a hash comment and white space after "text:"', () => {
    expect(str(first('x text: \t# comment\nbody\n.\n;').arguments[0])).toBe('body\r\n');
  });

  it('reads CRLF and LF line ends alike', () => {
    expect(str(first('x text:\r\na\r\nb\r\n.\r\n;').arguments[0])).toBe('a\r\nb\r\n');
  });

  it('gives an empty string for an empty body', () => {
    expect(str(first('x text:\n.\n;').arguments[0])).toBe('');
  });

  it('accepts the closing dot at the very end of the script', () => {
    const r = parseSieve('x text:\nbody\n.');
    // The string is whole; only the command's ';' is missing.
    expect(r.diagnostics.map((d) => d.message)).toEqual(["expected ';' or '{' after command 'x', found end of script"]);
  });

  it('is not ended by a line holding more than a dot, nor by quotes or comments inside it', () => {
    const v = str(first('x text:\n.. \n"quoted" # hash /* bracket */\n. x\n.\n;').arguments[0]);
    expect(v).toBe('. \r\n"quoted" # hash /* bracket */\r\n. x\r\n');
    expect((first('x text:\nb\n.\n;').arguments[0] as StringArg).multiline).toBe(true);
  });

  it('treats "TEXT:" case-insensitively, like the identifier it is', () => {
    expect(str(first('x TEXT:\nb\n.\n;').arguments[0])).toBe('b\r\n');
  });
});

describe('comments (RFC 5228 2.3)', () => {
  it('skips hash comments and bracket comments anywhere between tokens', () => {
    const c = first('if /* a */ header # b\n :is /* c\n d */ "x" "y" { keep; # e\n }');
    expect(c.tests[0]?.arguments).toHaveLength(3);
  });

  it('does not nest bracket comments', () => {
    const r = parseSieve('/* /* */ keep;');
    expect(r.diagnostics).toEqual([]);
    expect(r.script.commands).toHaveLength(1);
  });
});

describe('positions', () => {
  it('gives every node its line, column and offset', () => {
    const text = 'require "x";\n  if header :is "a" ["b", "c"] {\n\tkeep;\n  }\n';
    const s = parseOk(text);
    const ifc = s.commands[1] as Command;
    expect(ifc.pos).toEqual({ line: 2, column: 3, offset: 15 });
    const header = ifc.tests[0]!;
    expect(header.pos).toMatchObject({ line: 2, column: 6 });
    expect(header.arguments[2]?.pos).toMatchObject({ line: 2, column: 21 });
    expect((ifc.block?.[0] as Command).pos).toMatchObject({ line: 3, column: 2 });
    expect(text.slice(ifc.pos.offset, ifc.end.offset)).toBe('if header :is "a" ["b", "c"] {\n\tkeep;\n  }');
    expect(text.slice(header.pos.offset, header.end.offset)).toBe('header :is "a" ["b", "c"]');
  });

  // A node keeps its start and length in one small integer while they fit
  // (grammars/sieve-nodes.ts); a longer node, or one far into a large
  // script, is kept aside. Both must read back the same.
  it('places a node longer than a thousand characters, and one past 2 MiB into a script', () => {
    const long = 'x'.repeat(1500);
    const text = `if true {\n  fileinto "${long}";\n}\nkeep;`;
    const s = parseOk(text);
    const ifc = s.commands[0] as Command;
    expect(text.slice(ifc.pos.offset, ifc.end.offset)).toBe(text.slice(0, text.indexOf('}') + 1));
    const arg = (ifc.block?.[0] as Command).arguments[0]!;
    expect(arg.pos).toEqual({ line: 2, column: 12, offset: 21 });
    expect(text.slice(arg.pos.offset, arg.end.offset)).toBe(`"${long}"`);
    expect((ifc.block?.[0] as Command).raw).toBe('fileinto');

    const padding = `# ${'p'.repeat(3 << 20)}\n`;
    const big = `${padding}IF Header :Is "a" "b" { Keep; }`;
    const r = parseSieve(big, { limits: { ...defaultParseLimits, maxScriptSize: 4 << 20 } });
    expect(r.diagnostics).toEqual([]);
    const far = r.script.commands[0] as Command;
    expect(far.pos).toEqual({ line: 2, column: 1, offset: padding.length });
    expect(far.end.offset).toBe(big.length);
    expect([far.raw, far.tests[0]!.raw, far.tests[0]!.arguments[0]!.kind === 'tag' && far.tests[0]!.arguments[0]!.raw]).toEqual(['IF', 'Header', ':Is']);
    expect((far.block?.[0] as Command).pos).toMatchObject({ line: 2, column: 25 });
  });

  it('counts lines through multi-line strings and comments', () => {
    const s = parseOk('x text:\na\nb\n.\n;\n/*\n\n*/ keep;');
    expect(s.commands[1]?.pos).toMatchObject({ line: 8, column: 4 });
  });
});

describe('Sieve++ forms', () => {
  it('parses `$x = cmd args;` as an assignment with a call', () => {
    const a = parseOk('$from = envelope :domain "from";').commands[0]!;
    expect(a).toMatchObject({
      kind: 'assignment',
      unpack: false,
      targets: [{ kind: 'variable', name: 'from' }],
      value: { kind: 'call', name: 'envelope', arguments: [{ kind: 'tag', name: 'domain' }, { value: 'from' }] },
    });
  });

  it('parses list unpacking `($a, $b) = cmd args;`', () => {
    const a = parseOk('($status, $dsn) = smtp_callback_verify "${from}";').commands[0]!;
    expect(a).toMatchObject({ kind: 'assignment', unpack: true, targets: [{ name: 'status' }, { name: 'dsn' }] });
    expect(parseOk('($rv) = f;').commands[0]).toMatchObject({ unpack: true, targets: [{ name: 'rv' }] });
  });

  it('parses a literal or a variable on the right-hand side', () => {
    expect(parseOk('$x = "v";').commands[0]).toMatchObject({ value: { kind: 'string', value: 'v' } });
    expect(parseOk('$x = $y;').commands[0]).toMatchObject({ value: { kind: 'variable', name: 'y' } });
    expect(parseOk('$x = ["a", "b"];').commands[0]).toMatchObject({ value: { kind: 'stringlist' } });
  });

  it('parses `$x` arguments and `$h["k"]`, `$v[0]` indexing', () => {
    const c = first('ec_log $msg $h["key"] $v[0] $m["a"][$i];');
    expect(c.arguments).toMatchObject([
      { kind: 'variable', name: 'msg', index: [] },
      { kind: 'variable', name: 'h', index: [{ kind: 'string', value: 'key' }] },
      { kind: 'variable', name: 'v', index: [{ kind: 'number', value: 0 }] },
      { kind: 'variable', name: 'm', index: [{ value: 'a' }, { kind: 'variable', name: 'i' }] },
    ]);
  });

  it('reads "[" after white space as a string list, not an index', () => {
    const c = first('x $v ["a"];');
    expect(c.arguments.map((a) => a.kind)).toEqual(['variable', 'stringlist']);
  });

  it("runs Momentum's documented example unchanged", () => {
    const s = parseOk(
      '$from = envelope "from";\n($rv) = smtp_callback_verify "${from}";\nif ec_test :is "${rv}" "fail" { ec_action 550 "sender verification failed"; }\n',
    );
    expect(s.commands.map((c) => c.kind)).toEqual(['assignment', 'assignment', 'command']);
  });

  it("refuses Sieve++ syntax in the 'rfc' dialect, naming it", () => {
    const r = parseSieve('$x = f "a";\nkeep $y;', { dialect: 'rfc' });
    expect(r.diagnostics.map((d) => [d.line, d.column])).toEqual([
      [1, 1],
      [1, 1],
      [2, 6],
    ]);
    expect(r.diagnostics.every((d) => /Sieve\+\+ syntax.*'rfc' dialect/.test(d.message))).toBe(true);
  });

  it('means the same for a standard script in both dialects', () => {
    const text = 'require ["fileinto"];\nif address :domain "from" "x.org" { fileinto "a"; } else { keep; }';
    expect(parseOk(text, 'rfc')).toEqual(parseOk(text, 'momentum'));
  });
});
