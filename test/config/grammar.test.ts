import { describe, expect, it } from 'vitest';
import { type ConfScope, type ConfStatement, MAX_ERRORS, MAX_NESTING, parseEcconf, serializedGrammar } from '../../grammars/ecconf.js';

function only(text: string): ConfStatement {
  const r = parseEcconf(text);
  expect(r.errors).toEqual([]);
  expect(r.statements).toHaveLength(1);
  return r.statements[0]!;
}

function optionValue(text: string) {
  const s = only(`k = ${text}`);
  if (s.kind !== 'option') throw new Error('not an option');
  return s.value;
}

describe('ecconf grammar: statements', () => {
  it('parses an option with its key position', () => {
    const s = only('\n  Enabled = true');
    expect(s).toMatchObject({ kind: 'option', key: 'Enabled', pos: { line: 2, column: 3, offset: 3 } });
  });

  it('parses a scope without a name, with a bare name and with a quoted name', () => {
    expect(only('ESMTP_Listener { }')).toMatchObject({ kind: 'scope', type: 'ESMTP_Listener', names: [], body: [] });
    expect(only('script mailfrom_phase1 { }')).toMatchObject({ names: [{ text: 'mailfrom_phase1', quoted: false }] });
    expect(only('smtp_cbv "smtp_cbv1" {}')).toMatchObject({ names: [{ text: 'smtp_cbv1', quoted: true }] });
  });

  it('parses nested scopes', () => {
    const s = only('ESMTP_Listener { Listen ":25" { Peer "10.0.0.0/8" { Context = [ a = "b" ] } } }') as ConfScope;
    const listen = s.body[0] as ConfScope;
    const peer = listen.body[0] as ConfScope;
    expect([s.type, listen.type, peer.type]).toEqual(['ESMTP_Listener', 'Listen', 'Peer']);
    expect(peer.names[0]?.text).toBe('10.0.0.0/8');
    expect(peer.body[0]).toMatchObject({ kind: 'option', key: 'Context' });
  });

  it('parses the 2.x module form with a module path and an instance name', () => {
    const s = only('Validate validate/sieve sieve { mailfrom_phase1 = "/path" }') as ConfScope;
    expect(s.type).toBe('Validate');
    expect(s.names.map((n) => n.text)).toEqual(['validate/sieve', 'sieve']);
    expect(s.body[0]).toMatchObject({ key: 'mailfrom_phase1', value: { text: '/path' } });
  });

  it('parses include and readonly_include, case-insensitively', () => {
    expect(only('include "a.conf"')).toMatchObject({ kind: 'include', readonly: false, path: { text: 'a.conf' } });
    expect(only('READONLY_INCLUDE conf.d')).toMatchObject({ kind: 'include', readonly: true, path: { text: 'conf.d' } });
  });

  it('keeps words that only start with a keyword as plain names', () => {
    expect(only('includes = 1')).toMatchObject({ kind: 'option', key: 'includes' });
  });
});

describe('ecconf grammar: values', () => {
  it('parses bare, quoted and numeric scalars', () => {
    expect(optionValue('true')).toMatchObject({ kind: 'scalar', text: 'true', quoted: false, numeric: false });
    expect(optionValue('":25"')).toMatchObject({ text: ':25', quoted: true });
    expect(optionValue('0666')).toMatchObject({ text: '0666', numeric: true });
    expect(optionValue('1.5')).toMatchObject({ text: '1.5', numeric: true });
    expect(optionValue('10.0.0.0/8')).toMatchObject({ text: '10.0.0.0/8', numeric: false, quoted: false });
    expect(optionValue("'single'")).toMatchObject({ text: 'single', quoted: true });
  });

  it('resolves backslash escapes in quoted strings', () => {
    expect(optionValue('"a \\"b\\" \\\\ c"')).toMatchObject({ text: 'a "b" \\ c' });
  });

  it('parses lists of mixed scalars, including a bare CIDR', () => {
    const v = optionValue('( 127.0.0.0/8 "10.0.0.0/8" 25 )');
    expect(v.kind).toBe('list');
    if (v.kind !== 'list') return;
    expect(v.items.map((i) => i.text)).toEqual(['127.0.0.0/8', '10.0.0.0/8', '25']);
    expect(optionValue('( )')).toMatchObject({ kind: 'list', items: [] });
  });

  it('parses arrays of key = value pairs, with bare dotted or quoted keys', () => {
    const v = optionValue('[ yahoo.net = "yahoo.com" "x y" = z ]');
    expect(v).toMatchObject({ kind: 'array', entries: [{ key: 'yahoo.net', value: { text: 'yahoo.com' } }, { key: 'x y', value: { text: 'z' } }] });
  });
});

describe('ecconf grammar: comments and layout', () => {
  it('skips hash and block comments, including block comments over several lines', () => {
    const r = parseEcconf('# top\na = 1 # after\n/* one\n two */ b = 2 /**/ c = 3');
    expect(r.errors).toEqual([]);
    expect(r.statements.map((s) => (s.kind === 'option' ? s.key : ''))).toEqual(['a', 'b', 'c']);
    expect(r.statements[1]?.pos).toMatchObject({ line: 4, column: 9 });
  });

  it('needs no newlines between statements', () => {
    const r = parseEcconf('smtp_cbv { Enabled = true  phase = "mailfrom"  mailfrom = "" }');
    expect(r.errors).toEqual([]);
    expect((r.statements[0] as ConfScope).body).toHaveLength(3);
  });
});

describe('ecconf grammar: errors', () => {
  it('reports every syntax error in a file, with positions', () => {
    const r = parseEcconf('a = \n}\nb = (\nc { d = 1 }\ne = [ f ]\n');
    expect(r.errors.length).toBeGreaterThanOrEqual(3);
    const lines = new Set(r.errors.map((e) => e.pos.line));
    expect(lines.size).toBeGreaterThanOrEqual(3);
    for (const e of r.errors) expect(e.message).not.toMatch(/-->|Expecting token/);
  });

  it('names what was expected and what was found', () => {
    const r = parseEcconf('a = [ k ]');
    expect(r.errors.map((e) => e.message)).toEqual(["expected '=' but found ']'"]);
    expect(r.errors[0]?.pos).toMatchObject({ line: 1, column: 9 });
    expect(parseEcconf('a = \n}').errors[0]?.message).toBe("expected a value but found '}'");
  });

  it('names the brace that is never closed, at the end of the file', () => {
    const r = parseEcconf('a {\n  b { c = 1 }\n  d = 2\n');
    expect(r.errors).toEqual([{ message: "the '{' at line 1, column 3 is never closed: expected '}' before the end of the file", pos: { line: 4, column: 1, offset: 26 } }]);
  });

  it('reports a forgotten = at the key, in words about the key', () => {
    const r = parseEcconf('s {\n  port 25\n}\n');
    expect(r.errors).toEqual([{ message: "'port' needs '= value' (an option) or '{ ... }' (a scope)", pos: { line: 2, column: 3, offset: 6 } }]);
    expect(parseEcconf('lonely').errors.map((e) => e.message)).toEqual(["'lonely' needs '= value' (an option) or '{ ... }' (a scope)"]);
  });

  it('keeps the statements it could parse around an error', () => {
    const r = parseEcconf('a = 1\nb = = 2\nc = 3\n');
    expect(r.errors.length).toBeGreaterThan(0);
    const keys = r.statements.map((s) => (s.kind === 'option' ? s.key : s.kind));
    expect(keys).toContain('a');
    expect(keys).toContain('c');
  });

  it('goes on past a stray token or brace at the top level to the errors after it', () => {
    const r = parseEcconf('= 1\na = 1\n}\nb { c = }\nd = 2\n');
    expect(r.errors.map((e) => [e.pos.line, e.message])).toEqual([
      [1, "unexpected '='; expected an option, a scope or an include"],
      [3, "unexpected '}': no scope is open here"],
      [4, "expected a value but found '}'"],
    ]);
    expect(r.statements.map((s) => (s.kind === 'option' ? s.key : s.kind))).toEqual(['a', 'scope', 'd']);
  });

  it('reports a run of stray tokens once', () => {
    expect(parseEcconf('= = = ) ]').errors).toHaveLength(1);
  });

  it('reports an unterminated string once, on its line', () => {
    const r = parseEcconf('a = "open\nb = 2\n');
    expect(r.errors).toEqual([{ message: 'unterminated quoted string', pos: { line: 1, column: 5, offset: 4 } }]);
  });

  it('reports an unterminated block comment', () => {
    const r = parseEcconf('a = 1 /* never closed\nb = 2');
    expect(r.errors.map((e) => e.message)).toEqual(["unterminated comment: '/*' without '*/'"]);
  });

  it('refuses nesting past the bound instead of recursing', () => {
    const deep = 'a { '.repeat(MAX_NESTING + 1) + '}'.repeat(MAX_NESTING + 1);
    const r = parseEcconf(deep);
    expect(r.errors.map((e) => e.message)).toEqual([`nesting deeper than ${MAX_NESTING} levels`]);
    const ok = parseEcconf('a { '.repeat(MAX_NESTING) + '}'.repeat(MAX_NESTING));
    expect(ok.errors).toEqual([]);
  });

  it('survives a hundred thousand opening braces', () => {
    const r = parseEcconf('a {'.repeat(100_000));
    expect(r.errors.length).toBeGreaterThan(0);
  });

  it('caps the number of errors per file and says how many were left out', () => {
    const r = parseEcconf('x = 1 = '.repeat(500));
    expect(r.errors.length).toBe(MAX_ERRORS + 1);
    expect(r.errors[MAX_ERRORS]?.message).toMatch(/more syntax errors not shown/);
  });

  it('reuses one parser: a failed parse leaves no state behind', () => {
    expect(parseEcconf('a = (').errors.length).toBeGreaterThan(0);
    expect(parseEcconf('a = 1').errors).toEqual([]);
  });
});

describe('ecconf grammar: diagrams', () => {
  it('exports every rule for railroad diagrams', () => {
    const rules = serializedGrammar().map((r) => (r as { name?: string }).name);
    expect(rules).toEqual(expect.arrayContaining(['file', 'statement', 'include', 'entry', 'value', 'list', 'array', 'pair', 'scalar', 'stray']));
  });
});
