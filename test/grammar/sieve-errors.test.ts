/**
 * Syntax errors: every independent mistake reported once, at its position,
 * in Sieve's words; recovery as in Pigeonhole, so that a script with several
 * mistakes gets all of them.
 */
import { describe, expect, it } from 'vitest';
import { parseSieve } from '../../grammars/sieve.js';
import type { Command } from '../../src/sieve/ast.js';

const errors = (text: string, opts = {}) =>
  parseSieve(text, opts).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column}: ${d.message}`);

describe('messages speak Sieve', () => {
  it.each([
    ['keep\n}', "2:1: expected ';' or '{' after command 'keep', found '}'"],
    ['keep', "1:5: expected ';' or '{' after command 'keep', found end of script"],
    ['if true { keep; ', "1:17: expected '}' to close the block opened at 1:9, found end of script"],
    ['if anyof(true,) {}', '1:15: expected a test in the test list opened at 1:9, found \')\''],
    ['if anyof(true "x" {}', "1:19: expected ',' or ')' in the test list opened at 1:9, found '{'"],
    ['x ["a" "b"];', "1:8: expected ',' or ']' after command 'x', found string \"b\""],
    ['x ["a", 1];', "1:9: expected a string after command 'x', found number 1"],
    ['x [];', "1:4: expected a string after command 'x', found ']'"],
    ['}', "1:1: unexpected '}': no block is open here"],
    ['"s";', '1:1: expected a command, found string "s"'],
    ['$x "a";', "1:4: expected '=' in the assignment to '$x', found string \"a\""],
    ['$x = ;', "1:6: expected a value or a command after '=' in the assignment to '$x', found ';'"],
  ])('%j', (text, message) => {
    expect(errors(text)).toEqual([message]);
  });
});

describe('lexical errors', () => {
  it('reports an unterminated quoted string where it starts', () => {
    expect(errors('keep;\nx "abc;\nkeep;\n')).toEqual(['2:3: end of script before the end of the quoted string started here']);
  });

  it('reports an unterminated bracket comment where it starts', () => {
    expect(errors('keep; /* never\nclosed')).toEqual([
      "1:7: end of script before the end of the bracket comment ('/* ... */') started here",
    ]);
  });

  it('reports an unterminated multi-line string', () => {
    expect(errors('x text:\nno end\n;\n')).toEqual([
      "1:3: end of script before the end of the multi-line string started here (a line holding only '.' ends it)",
    ]);
  });

  it('reports text: followed by something other than a line break', () => {
    expect(errors('x text: body\n.\n;')[0]).toBe("1:3: 'text:' must be followed by a line break (or a '#' comment) before the text");
  });

  it('reports characters that start no token, and the command they break', () => {
    expect(errors('friep $$$;')).toEqual([
      "1:7: unexpected character(s) '$$$'",
      "1:7: expected ';' or '{' after command 'friep', found '$$$'",
    ]);
    expect(errors('x @;')[0]).toBe("1:3: unexpected character(s) '@'");
    expect(errors('x : ;')[0]).toBe("1:3: unexpected character(s) ':'");
    expect(errors('x \u0000;')[0]).toBe("1:3: unexpected character(s) '\\u0000'");
  });

  it('reports numbers past 2^64-1, with and without quantifiers', () => {
    expect(errors('if size :under 18446744073709551615 { stop; }')).toEqual([]);
    expect(errors('if size :under 18446744073709551616 { stop; }')).toEqual([
      '1:16: number 18446744073709551616 exceeds the integer limit (18446744073709551615)',
    ]);
    expect(errors('if size :over 34359738368G { stop; }')).toHaveLength(1);
    expect(errors('if size :over 800G { stop; }')).toEqual([]);
  });

  it('reports identifiers and tags longer than 32 characters (Pigeonhole\'s limit, in the rfc dialect)', () => {
    const rfc = { dialect: 'rfc' };
    expect(errors(`if ${'a'.repeat(32)} { stop; }`, rfc)).toEqual([]);
    expect(errors(`if ${'a'.repeat(33)} { stop; }`, rfc)).toEqual([
      `1:4: identifier '${'a'.repeat(33)}' is too long (more than 32 characters)`,
    ]);
    expect(errors(`if t :${'b'.repeat(33)} { stop; }`, rfc)).toHaveLength(1);
  });

  it('lets the momentum dialect have Momentum\'s longer function names, up to 128 characters', () => {
    expect(errors('$p = ec_get_message_received_from_port;')).toEqual([]);
    expect(errors(`if ${'a'.repeat(129)} { stop; }`)).toEqual([`1:4: identifier '${'a'.repeat(129)}' is too long (more than 128 characters)`]);
  });

  it('warns, without failing, about a hash comment that runs into the end of the script', () => {
    const r = parseSieve('keep;\n# last words');
    expect(r.diagnostics).toEqual([
      expect.objectContaining({ severity: 'warning', line: 2, column: 1, message: 'no line break at the end of the hash comment at the end of the script' }),
    ]);
  });
});

describe('recovery reports each independent mistake once', () => {
  it('missing semicolons at the ends of blocks, and a comma in a command (3 errors)', () => {
    const text = [
      'if true {', '  if true {', '    keep', '  }', '}',
      'if true {', '  keep,', '  keep', '}',
      'if true {', '  if anyof(true,true,false) {', '    keep;', '  }', '}',
      'if true {', '  if anyof(true,true,false) {', '    keep;', '    discard', '  }', '}',
    ].join('\n');
    expect(errors(text).map((e) => e.split(':').slice(0, 2).join(':'))).toEqual(['4:3', '7:7', '19:3']);
  });

  it('spurious commas at the end of test lists (2 errors)', () => {
    const text = 'if true { if true { if anyof(true,true,true,) { } } }\nif true { if anyof(true,true) { if anyof(true,true,true,) { if anyof(true,true,true) { } } } }';
    expect(errors(text)).toHaveLength(2);
  });

  it('keeps parsing the block after a broken command, and finds the errors inside it', () => {
    const r = parseSieve('if header :is "a" "b" , { keep; discard }\nstop;');
    expect(r.diagnostics.map((d) => [d.line, d.column])).toEqual([[1, 23], [1, 41]]);
    const ifc = r.script.commands[0] as Command;
    expect(ifc.name).toBe('if');
    expect(ifc.block?.map((c) => (c as Command).name)).toEqual(['keep', 'discard']);
    expect(r.script.commands.map((c) => (c as Command).name)).toEqual(['if', 'stop']);
  });

  it('recovers inside a string list at its closing bracket', () => {
    expect(errors('x ["a", , "b"] :tag;\nx ["c" "d"];')).toHaveLength(2);
  });

  it('goes on after a stray closing brace at the top level', () => {
    expect(errors('keep;\n}\nkeep\n')).toEqual([
      "2:1: unexpected '}': no block is open here",
      "4:1: expected ';' or '{' after command 'keep', found end of script",
    ]);
  });

  it('three independent errors give three lines', () => {
    expect(errors('keep\nredirect;\nif true { stop }\nfileinto "x" "y" ,;\n')).toHaveLength(2);
    expect(errors('keep }\nif true { stop }\nfileinto "x" ,;\n')).toHaveLength(3);
  });
});

describe('limits (Pigeonhole defaults)', () => {
  const nestBlocks = (n: number) => 'if true { '.repeat(n) + 'stop;' + ' }'.repeat(n);
  const nestTests = (n: number) => `if ${'not '.repeat(n)}false { stop; }`;
  const nestLists = (n: number) => `if ${'anyof ( '.repeat(n)}true${' )'.repeat(n)} { stop; }`;

  it('allows 32 nested blocks and refuses 33, once', () => {
    expect(errors(nestBlocks(32))).toEqual([]);
    expect(errors(nestBlocks(40))).toEqual([expect.stringContaining('cannot nest command blocks deeper than 32 levels')]);
  });

  it('allows 32 nested tests and refuses 33, once, for single tests and test lists', () => {
    expect(errors(nestTests(31))).toEqual([]);
    expect(errors(nestTests(40))).toEqual([expect.stringContaining('cannot nest tests deeper than 32 levels')]);
    expect(errors(nestLists(31))).toEqual([]);
    expect(errors(nestLists(40))).toEqual([expect.stringContaining('cannot nest tests deeper than 32 levels')]);
  });

  it('reports a command with more than 32 arguments once', () => {
    expect(errors(`x ${'"a" '.repeat(32)};`)).toEqual([]);
    expect(errors(`x ${'"a" '.repeat(50)};`)).toEqual([expect.stringContaining("too many arguments for 'x' (at most 32)")]);
  });

  it('refuses a script over the size limit without parsing it', () => {
    expect(errors('keep;'.repeat(10), { limits: { maxScriptSize: 20 } })).toEqual(['1:1: script is too large (50 bytes, at most 20)']);
  });

  it('refuses strings over the string limit', () => {
    expect(errors(`x "${'a'.repeat(11)}";`, { limits: { maxStringLength: 10 } })).toEqual([
      '1:3: string is too long (longer than 10 bytes)',
    ]);
  });

  it('survives nesting far past any limit without exhausting the stack', () => {
    const deep = '{'.repeat(100_000) + '('.repeat(100_000) + '['.repeat(100_000);
    expect(() => parseSieve(`if true ${deep}`)).not.toThrow();
    expect(parseSieve(`if ${'not '.repeat(100_000)} true {}`).diagnostics.length).toBeGreaterThan(0);
  });

  it('names the file in every diagnostic when given one', () => {
    expect(parseSieve('keep', { file: 'a.siv' }).diagnostics[0]?.file).toBe('a.siv');
  });
});
