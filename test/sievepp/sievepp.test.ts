/**
 * Momentum Sieve++ in the interpreter: assignments, list unpacking, `$x`
 * values and indexing, interpolation in one namespace with RFC 5229
 * variables, the vctx macros, and the dialect switch.
 */
import { describe, expect, it } from 'vitest';
import { compileSieve } from '../../src/sievepp/compile.js';
import { compileErrors, runPP, valueOf } from './helpers.js';

describe('assignments', () => {
  it('assigns literals, numbers, string lists and other variables', async () => {
    expect(await valueOf('$x = "hello";', 'x')).toBe('hello');
    expect(await valueOf('$x = 42;', 'x')).toBe('42');
    expect(await valueOf('$x = ["a", "b"];', 'x')).toEqual(['a', 'b']);
    expect(await valueOf('$x = ["a", "b"]; $y = $x;', 'y')).toEqual(['a', 'b']);
    expect(await valueOf('$x = "a"; $y = "${x}-${x}";', 'y')).toBe('a-a');
  });

  it('unpacks lists; missing items are empty and a string is a one-item list', async () => {
    const r = await runPP('($a, $b, $c) = ["1", "2"]; ($d) = "solo"; ($e, $f) = split "," "x,y,z";');
    expect(r.errors).toEqual([]);
    const v = (n: string) => r.runtime.variable(n, undefined);
    expect([v('a'), v('b'), v('c'), v('d'), v('e'), v('f')]).toEqual(['1', '2', '', 'solo', 'x', 'y']);
  });

  it('indexes lists (a "-1" key counts from the end) and hashes, and writes into hashes', async () => {
    expect(await valueOf('$l = ["a", "b", "c"]; $x = $l[1];', 'x')).toBe('b');
    expect(await valueOf('$l = ["a", "b", "c"]; $x = $l["-1"];', 'x')).toBe('c');
    expect(await valueOf('$l = ["a"]; $x = $l[5];', 'x')).toBe('');
    expect(await valueOf('$h["k"] = "v"; $h["n"]["m"] = "deep"; $x = $h["n"]["m"];', 'x')).toBe('deep');
    expect(await valueOf('$h["k"] = "v"; $key = "k"; $x = $h[$key];', 'x')).toBe('v');
    expect(await valueOf('$h["k"] = "v"; $key = "k"; $x = $h["${key}"];', 'x')).toBe('v');
    expect(await valueOf('$l = ["a", "b"]; $l[0] = "z"; $x = join "" $l;', 'x')).toBe('zb');
  });

  it('passes $x and $h["k"] to standard commands and tests', async () => {
    const r = await runPP('$l = ["Bob@example.net"]; $h["to"] = "carol@example.net"; if address :is "to" $l { redirect $h["to"]; }');
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => [a.type, a.target])).toEqual([['redirect', 'carol@example.net']]);
  });

  it('assigns the outcome of a test as "true"/"false" and runs a command on the right', async () => {
    expect(await valueOf('$t = header :contains "subject" "world";', 't')).toBe('true');
    expect(await valueOf('$t = exists "x-none";', 't')).toBe('false');
    const r = await runPP('$k = keep;');
    expect(r.actions.map((a) => a.type)).toEqual(['keep']);
  });

  it('reports a function that gives no value on the right, at its position', () => {
    expect(compileErrors('$x = ec_log "a";')).toEqual(["1:6: 'ec_log' gives no value: it cannot stand on the right of an assignment"]);
    expect(compileErrors('$x = nosuch "a";')).toEqual(["1:6: unknown test 'nosuch' (only reported once at first occurrence)"]);
  });
});

describe('one namespace for $x and RFC 5229 variables', () => {
  it('set and $x name the same variable; the last write wins, whichever form', async () => {
    expect(await valueOf('require "variables"; set "x" "from-set"; $y = $x;', 'y')).toBe('from-set');
    expect(await valueOf('require "variables"; $x = ["a", "b"]; set "x" "plain"; $y = $x;', 'y')).toBe('plain');
    expect(await valueOf('require "variables"; $x = ["a", "b"]; set "y" "${x}";', 'y')).toBe('a b');
  });

  it('the variable size limit holds for the items of a list too', async () => {
    const r = await runPP('$l = split "," "${x}";'.replace('${x}', 'a'.repeat(5000) + ',b'));
    expect(r.errors).toEqual([]);
    const { getValue } = await import('../../src/sievepp/values.js');
    expect((getValue(r.runtime, 'l') as string[]).map((s) => s.length)).toEqual([4096, 1]);
  });

  it('a list interpolates as its items joined by a space', async () => {
    expect(await valueOf('$l = ["a", "b"]; $s = "<${l}>";', 's')).toBe('<a b>');
  });

  it('interpolates without require only in a Sieve++ script; a standard script keeps "${x}" literal', async () => {
    const std = await runPP('require "reject"; reject "${x} %{vctx_conn:remote_ip}";', { connection: new Map([['remote_ip', '192.0.2.1']]) });
    expect(std.actions[0]!.target).toBe('${x} %{vctx_conn:remote_ip}');
    const pp = await runPP('$x = "X"; ec_reject "${x} %{vctx_conn:remote_ip}";', { connection: new Map([['remote_ip', '192.0.2.1']]) });
    expect(pp.actions[0]!.target).toBe('X 192.0.2.1');
  });

  it('expands %{vctx_mess:key} and %{vctx_conn:key} macros; an unset key is empty', async () => {
    const r = await valueOf('$s = "%{vctx_mess:mailfrom_domain}/%{vctx_conn:ehlo_domain}/%{vctx_conn:nothing}";', 's', {
      connection: new Map([['ehlo_domain', 'mx.example.net']]),
      messageContext: new Map([['mailfrom_domain', 'example.com']]),
    });
    expect(r).toBe('example.com/mx.example.net/');
  });
});

describe('dialects', () => {
  it("'rfc' refuses Sieve++ syntax and functions with a clear, positioned error", () => {
    expect(compileErrors('$x = "a";', { dialect: 'rfc' })[0]).toMatch(/^1:1: .*Sieve\+\+ syntax, which the 'rfc' dialect does not allow/);
    expect(compileErrors('if true {\n  ec_action 550 "no";\n}', { dialect: 'rfc' })).toEqual([
      "2:3: 'ec_action' is a Momentum Sieve++ command, which the 'rfc' dialect does not allow",
    ]);
    expect(compileErrors('if is_true "1" { keep; }', { dialect: 'rfc' })).toEqual(["1:4: 'is_true' is a Momentum Sieve++ test, which the 'rfc' dialect does not allow"]);
  });

  it("'momentum' needs no require for Sieve++ functions (and tolerates one); 'rfc' does not know the capability", () => {
    expect(compileErrors('ec_log "hello";')).toEqual([]);
    expect(compileErrors('require "vnd.momentum.sievepp"; ec_log "hello";')).toEqual([]);
    expect(compileErrors('require "vnd.momentum.sievepp";', { dialect: 'rfc' })).toEqual(["1:9: require command: unknown Sieve capability 'vnd.momentum.sievepp'"]);
  });

  const standard = [
    'require ["fileinto", "variables"]; if header :matches "subject" "*world" { set "s" "${1}"; fileinto "w${s}"; }',
    'require "reject"; if address :domain :is "from" "example.com" { reject "no ${x} %{vctx_mess:k}"; }',
    'if size :over 1K { discard; } elsif exists "x-count" { redirect "a@example.net"; } else { keep; }',
    'require ["envelope", "variables"]; if envelope :localpart :matches "from" "*" { set "u" "${0}"; } if string "${u}" "joe" { stop; } keep;',
  ];
  it.each(standard)('a standard script means the same under both dialects: %s', async (script) => {
    const out = [];
    for (const dialect of ['rfc', 'momentum'] as const) {
      expect(compileSieve(script, { dialect }).diagnostics).toEqual([]);
      const r = await runPP(script, { compile: { dialect } });
      out.push({ actions: r.actions.map((a) => [a.type, a.target]), keep: r.implicitKeep, errors: r.errors, vars: [...r.runtime.scope.vars] });
    }
    expect(out[0]).toEqual(out[1]);
  });
});
