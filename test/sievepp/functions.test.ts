/**
 * The Sieve++ tests and functions other than actions: normal use, and wrong
 * arguments (positioned compile errors, or a clear runtime error).
 */
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/session/decide.js';
import { getValue } from '../../src/sievepp/values.js';
import { compileErrors, runPP, valueOf } from './helpers.js';

const holds = async (test: string, o = {}) => {
  const r = await runPP(`if ${test} { ec_discard; }`, o);
  expect(r.errors).toEqual([]);
  return r.actions.length > 0;
};

describe('ec_test', () => {
  it('matches a value against keys with any match type and keeps ${1} captures', async () => {
    expect(await holds('ec_test :is "fail" "fail"')).toBe(true);
    expect(await holds('ec_test :contains "transient" ["pass", "trans"]')).toBe(true);
    expect(await holds('ec_test :is "pass" "fail"')).toBe(false);
    expect(await valueOf('if ec_test :matches "joe@example.com" "*@*" { $d = "${2}"; }', 'd')).toBe('example.com');
    const rel = await runPP('require ["relational", "comparator-i;ascii-numeric"]; if ec_test :comparator "i;ascii-numeric" :value "gt" "10" "9" { ec_discard; }');
    expect(rel.actions.map((a) => a.type)).toEqual(['discard']);
  });
  it('refuses missing keys and unknown tags', () => {
    expect(compileErrors('if ec_test :is "a" { keep; }')).toEqual(['1:4: the ec_test function requires 2 positional argument(s), but 1 is/are specified']);
    expect(compileErrors('if ec_test :nope "a" "b" { keep; }')).toEqual(["1:12: unknown tagged argument ':nope' for the ec_test function (reported only once at first occurrence)"]);
  });
});

describe('the message and connection contexts', () => {
  it('vctx_mess / vctx_conn tests match a context key; an unset one matches nothing', async () => {
    const o = { connection: new Map([['tls', 'true']]), messageContext: new Map([['smtp_cbv_result', 'error']]) };
    expect(await holds('vctx_mess :is "smtp_cbv_result" "error"', o)).toBe(true);
    expect(await holds('vctx_conn :is "tls" "false"', o)).toBe(false);
    expect(await holds('vctx_conn :matches "nothing" "*"', o)).toBe(false);
  });

  it('get, set and delete change the Maps the server holds, so values persist across phases', async () => {
    const connection = new Map([['remote_ip', '192.0.2.1']]);
    const messageContext = new Map<string, string>();
    await runPP('$ip = vctx_conn_get "remote_ip"; vctx_conn_set "seen" "${ip}"; vctx_mess_set "list" ["a", "b"]; vctx_conn_delete "remote_ip";', {
      phase: 'mailfrom',
      connection,
      messageContext,
    });
    expect([...connection]).toEqual([['seen', '192.0.2.1']]);
    expect([...messageContext]).toEqual([['list', 'a b']]);
    // The next phase's run sees what the first one set.
    expect(await valueOf('$s = vctx_conn_get "seen"; $u = vctx_mess_get "unset";', 's', { phase: 'rcptto', connection })).toBe('192.0.2.1');
  });

  it('refuse wrong argument counts', () => {
    expect(compileErrors('vctx_mess_set "k";')).toEqual(['1:1: the vctx_mess_set function requires 2 positional argument(s), but 1 is/are specified']);
    expect(compileErrors('$x = vctx_conn_get;')).toEqual(['1:6: the vctx_conn_get function requires 1 positional argument(s), but 0 is/are specified']);
  });
});

describe('isset, is_true, type', () => {
  it('isset: a variable or an indexed item has a value', async () => {
    expect(await holds('isset $nope')).toBe(false);
    expect(await valueOf('$h["a"] = "1"; if isset $h["a"] { $r = "yes"; } if not isset $h["b"] { $s = "no"; } $t = "${r}${s}";', 't')).toBe('yesno');
    expect(await valueOf('$x = ""; if isset "x" { $r = "set-but-empty"; }', 'r')).toBe('set-but-empty');
  });
  it('is_true: "", "0", "false" and empty lists are false', async () => {
    for (const v of ['"1"', '"yes"', '["a"]']) expect(await holds(`is_true ${v}`)).toBe(true);
    for (const v of ['""', '"0"', '"FALSE"']) expect(await holds(`is_true ${v}`)).toBe(false);
    expect(await holds('is_true "%{vctx_conn:tls}"', { connection: new Map([['tls', 'true']]) })).toBe(true);
  });
  it('type: tests or gives string, list, hash, undef', async () => {
    const r = await runPP('$l = ["a"]; $h["k"] = "v"; $s = "x"; $a = type $l; $b = type $h; $c = type $s; $d = type $none; if type $l ["hash", "list"] { $e = "ok"; }');
    expect(['a', 'b', 'c', 'd', 'e'].map((n) => r.runtime.variable(n, undefined))).toEqual(['list', 'hash', 'string', 'undef', 'ok']);
    expect(await valueOf('$t = type "literal";', 't')).toBe('string');
    expect(await valueOf('$t = type ["a", "b"];', 't')).toBe('list');
  });
  it('type refuses an unknown type name; isset and is_true need an argument', () => {
    expect(compileErrors('if type $x "numeral" { keep; }')).toEqual(["1:12: unknown type name 'numeral' for the type test (string, list, hash or undef)"]);
    expect(compileErrors('if isset { keep; }')).toEqual(['1:4: the isset function requires 1 positional argument(s), but 0 is/are specified']);
  });
});

describe('is_valid_ip and is_rfc821_ip', () => {
  it('is_valid_ip: dotted-quad IPv4 or IPv6, nothing looser', async () => {
    for (const ip of ['192.0.2.1', '2001:db8::1', '::1']) expect(await holds(`is_valid_ip "${ip}"`)).toBe(true);
    for (const ip of ['192.0.2', '0x7f.1', '[192.0.2.1]', 'example.com', '', 'fe80::1%eth0']) expect(await holds(`is_valid_ip "${ip}"`)).toBe(false);
  });
  it('is_rfc821_ip: SMTP address literals (RFC 5321 4.1.3) and a bare dotted quad', async () => {
    for (const ip of ['[192.0.2.1]', '[IPv6:2001:db8::1]', '192.0.2.1']) expect(await holds(`is_rfc821_ip "${ip}"`)).toBe(true);
    for (const ip of ['[2001:db8::1]', '2001:db8::1', '[300.1.1.1]', 'mx.example.com']) expect(await holds(`is_rfc821_ip "${ip}"`)).toBe(false);
  });
  it('refuse a missing argument', () => {
    expect(compileErrors('if is_valid_ip { keep; }')).toEqual(['1:4: the is_valid_ip function requires 1 positional argument(s), but 0 is/are specified']);
  });
});

describe('advertize_esmtp_capability and disable_esmtp_capability', () => {
  it('record the changes to the EHLO answer, each on one line, in order; an empty one changes nothing', async () => {
    const r = await runPP('advertize_esmtp_capability "X-A 1"; disable_esmtp_capability "pipelining\r\n"; advertize_esmtp_capability " ";', { phase: 'connect', message: null });
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => a.def.describe(a))).toEqual(['esmtp_advertize "X-A 1"', 'esmtp_disable "pipelining"']);
    expect(decide('connect', r.actions, r.implicitKeep).esmtp).toEqual([{ op: 'advertize', keyword: 'X-A 1' }, { op: 'disable', keyword: 'pipelining' }]);
  });
});

describe('ec_mime_boundary_create', () => {
  it('gives a new boundary each time, of characters RFC 2046 5.1.1 allows, without the -- around it', async () => {
    const r = await runPP('$a = ec_mime_boundary_create; $b = ec_mime_boundary_create;');
    expect(r.errors).toEqual([]);
    const [a, b] = [getValue(r.runtime, 'a'), getValue(r.runtime, 'b')];
    expect(a).toMatch(/^=_[0-9a-f]{24}$/);
    expect(b).toMatch(/^=_[0-9a-f]{24}$/);
    expect(a).not.toBe(b);
  });
});

describe('reverse_delim', () => {
  it('reverses the pieces between delimiters (sieve-ref-reverse-delim.md): an IP address for a DNS list', async () => {
    expect(await valueOf('$q = reverse_delim "." "192.0.2.1";', 'q')).toBe('1.2.0.192');
    expect(await valueOf('$q = reverse_delim ", " "a, b, c";', 'q')).toBe('c, b, a');
    expect(await valueOf('$q = reverse_delim "." "a.b.";', 'q')).toBe('.b.a');
    expect(await valueOf('$q = reverse_delim "." "nodots";', 'q')).toBe('nodots');
    expect(await valueOf('$q = reverse_delim "" "abc";', 'q')).toBe('abc');
  });

  it('refuses a missing argument, positioned', () => {
    expect(compileErrors('$q = reverse_delim ".";')).toEqual(['1:6: the reverse_delim function requires 2 positional argument(s), but 1 is/are specified']);
  });
});

describe('split, ec_explode, join', () => {
  it('split and join round-trip; an empty separator gives characters; an empty string no items', async () => {
    expect(await valueOf('$l = split "," "a,b,,c";', 'l')).toEqual(['a', 'b', '', 'c']);
    expect(await valueOf('$l = ec_explode "@" "joe@example.com";', 'l')).toEqual(['joe', 'example.com']);
    expect(await valueOf('$l = split "" "abc";', 'l')).toEqual(['a', 'b', 'c']);
    expect(await valueOf('$l = split "," "";', 'l')).toEqual([]);
    expect(await valueOf('$l = split "," "a,b"; $s = join "+" $l;', 's')).toBe('a+b');
    expect(await valueOf('$s = join "+" ["x", "y"];', 's')).toBe('x+y');
  });
  it('refuse a wrong argument type, positioned', () => {
    expect(compileErrors('$l = split "," ["a", "b"];')).toEqual(['1:16: the split function expects a string as argument 2 (string), but a string list was found']);
    expect(compileErrors('$s = join;')).toEqual(['1:6: the join function requires 2 positional argument(s), but 0 is/are specified']);
  });
});

describe('ec_log and ec_inc_counter', () => {
  it('reach the host callbacks', async () => {
    const logged: string[] = [];
    const counters = new Map<string, number>();
    const host = { log: (l: string, t: string) => logged.push(`${l}: ${t}`), incrementCounter: (n: string, by: number) => counters.set(n, (counters.get(n) ?? 0) + by) };
    const r = await runPP('$x = "X"; ec_log "value ${x}"; ec_inc_counter "hits"; ec_inc_counter "hits" 4;', { host });
    expect(r.errors).toEqual([]);
    expect(logged).toEqual(['info: value X']);
    expect([...counters]).toEqual([['hits', 5]]);
    expect(r.actions).toEqual([]);
  });
  it('refuse wrong arguments', () => {
    expect(compileErrors('ec_inc_counter "c" "many";')).toEqual(["1:20: the ec_inc_counter function expects a number as argument 2 (increment), but 'many' was found"]);
    expect(compileErrors('ec_log;')).toEqual(['1:1: the ec_log function requires 1 positional argument(s), but 0 is/are specified']);
  });
});

describe('headers and the envelope', () => {
  it('ec_header_get gives every value, decoded', async () => {
    expect(await valueOf('$s = ec_header_get "Subject";', 's')).toEqual(['Héllo world']);
    expect(await valueOf('$s = ec_header_get "X-None";', 's')).toEqual([]);
  });
  it('ec_header_add / ec_header_delete record actions for the server', async () => {
    const r = await runPP('ec_header_add "X-CBV" "pass\r\n injected"; ec_header_delete "X-Count"; ec_header_delete "Received" "by evil";');
    expect(r.actions.map(({ def: _def, pos: _p, message: _seen, ...a }) => a)).toEqual([
      { type: 'header_add', data: { name: 'X-CBV', value: 'pass  injected' } },
      { type: 'header_delete', data: { name: 'X-Count' } },
      { type: 'header_delete', data: { name: 'Received', value: 'by evil' } },
    ]);
    expect(r.implicitKeep).toBe(true);
    const bad = await runPP('$n = "Bad Name"; ec_header_add $n "v";');
    expect(bad.errors.map((e) => e.message)).toEqual(["ec_header_add: 'Bad Name' is not a header field name"]);
  });
  it('ec_header_prefix / ec_header_postfix record actions for the server, their text on one line', async () => {
    const r = await runPP('ec_header_prefix "Subject" "[SPAM] "; ec_header_postfix "Subject" "\r\n(checked)";');
    expect(r.actions.map(({ def: _def, pos: _p, message: _seen, ...a }) => a)).toEqual([
      { type: 'header_prefix', data: { name: 'Subject', value: '[SPAM] ' } },
      { type: 'header_postfix', data: { name: 'Subject', value: ' (checked)' } },
    ]);
    expect(r.implicitKeep).toBe(true);
    const bad = await runPP('$n = "Bad:Name"; ec_header_postfix $n "v";');
    expect(bad.errors.map((e) => e.message)).toEqual(["ec_header_postfix: 'Bad:Name' is not a header field name"]);
  });
  it('header functions need a message: a compile error before DATA', () => {
    expect(compileErrors('$s = ec_header_get "Subject";', { phase: 'mailfrom' })).toEqual([
      '1:6: the ec_header_get function needs a message, and there is none at this point of the SMTP session',
    ]);
  });
  it('ec_get_message_mailfrom / _rcptto give the MAIL FROM:<...> and RCPT TO:<...> forms Momentum documents', async () => {
    const o = { envelope: { from: '<Joe@Example.com>', to: ['<a@example.org>', 'b@example.org'] } };
    expect(await valueOf('$f = ec_get_message_mailfrom;', 'f', o)).toBe('MAIL FROM:<Joe@Example.com>');
    expect(await valueOf('$t = ec_get_message_rcptto;', 't', o)).toEqual(['RCPT TO:<a@example.org>', 'RCPT TO:<b@example.org>']);
    expect(await valueOf('$f = ec_get_message_mailfrom;', 'f', { envelope: { from: '<>' } })).toBe('MAIL FROM:<>');
  });
  it('envelope as a function: from is a string, to a list, address parts apply', async () => {
    const o = { envelope: { from: 'joe@example.com', to: ['a@example.org', 'b@example.net'] } };
    expect(await valueOf('$d = envelope :domain "from";', 'd', o)).toBe('example.com');
    expect(await valueOf('$t = envelope :localpart "to";', 't', o)).toEqual(['a', 'b']);
    expect(await valueOf('$f = envelope "from";', 'f', { envelope: { from: '<>' } })).toBe('');
    expect(compileErrors('$x = envelope "subject";')).toEqual(["1:15: specified envelope part 'subject' is not supported by the envelope function"]);
  });
});

describe('wrong arguments for the rest, positioned', () => {
  it.each([
    ['if vctx_mess :is "k" { keep; }', '1:4: the vctx_mess function requires 2 positional argument(s), but 1 is/are specified'],
    ['if vctx_conn :is ["a", "b"] "v" { keep; }', '1:18: the vctx_conn function expects a string as argument 1 (context key), but a string list was found'],
    ['if is_true { keep; }', '1:4: the is_true function requires 1 positional argument(s), but 0 is/are specified'],
    ['if is_rfc821_ip "a" "b" { keep; }', '1:4: the is_rfc821_ip function requires 1 positional argument(s), but 2 is/are specified'],
    ['ec_reject;', '1:1: the ec_reject function requires 1 positional argument(s), but 0 is/are specified'],
    ['ec_discard "now";', '1:1: the ec_discard function requires 0 positional argument(s), but 1 is/are specified'],
    ['ec_keep :copy;', "1:9: unknown tagged argument ':copy' for the ec_keep function (reported only once at first occurrence)"],
    ['vctx_conn_delete;', '1:1: the vctx_conn_delete function requires 1 positional argument(s), but 0 is/are specified'],
    ['vctx_mess_delete ["a"];', '1:18: the vctx_mess_delete function expects a string as argument 1 (key), but a string list was found'],
    ['$l = ec_explode ",";', '1:6: the ec_explode function requires 2 positional argument(s), but 1 is/are specified'],
    ['$s = join "," "a" "b";', '1:6: the join function requires 2 positional argument(s), but 3 is/are specified'],
    ['ec_header_delete;', '1:1: the ec_header_delete function requires 1 positional argument(s), but 0 is/are specified'],
    ['ec_header_add "X-A";', '1:1: the ec_header_add function requires 2 positional argument(s), but 1 is/are specified'],
    ['$f = ec_get_message_mailfrom "x";', '1:6: the ec_get_message_mailfrom function requires 0 positional argument(s), but 1 is/are specified'],
    ['$t = ec_get_message_rcptto 1;', '1:6: the ec_get_message_rcptto function requires 0 positional argument(s), but 1 is/are specified'],
    ['ec_get_message_rcptto;', "1:1: 'ec_get_message_rcptto' gives a value and cannot be used as a command: assign it, as in $x = ec_get_message_rcptto ...;"],
    ['if foo_bar :is "from" "a@b.c" { keep; }', "1:4: unknown test 'foo_bar' (only reported once at first occurrence)"],
  ])('%s', (script, error) => {
    expect(compileErrors(script)).toEqual([error]);
  });
});

describe('Momentum functions smtp-cbv does not provide', () => {
  it.each([
    ['clamav_avscan;', "1:1: 'clamav_avscan' is a Momentum command (an anti-virus or anti-spam scanner binding) that smtp-cbv does not provide; see docs/momentum-compatibility.md"],
    ['if thread_pool_stats "IO" { keep; }', "1:4: 'thread_pool_stats' is a Momentum test (Momentum's thread pool statistics) that smtp-cbv does not provide; see docs/momentum-compatibility.md"],
    ['ec_dk_sign;', "1:1: 'ec_dk_sign' is a Momentum command (DomainKeys signing (RFC 4870, historic: superseded by DKIM, which ec_dkim_sign provides)) that smtp-cbv does not provide; see docs/momentum-compatibility.md"],
  ])('%s is named as a Momentum feature, never "unknown"', (script, error) => {
    expect(compileErrors(script)).toEqual([error]);
  });
});

describe('delivery actions keep to the phases Momentum documents', () => {
  it('ec_maildir only in each_rcpt; ec_forward and ec_rewrite_mailfrom from data on', () => {
    expect(compileErrors('ec_maildir "a@b.c";', { phase: 'data' })).toEqual(['1:1: ec_maildir is not allowed in the data phase (only in each_rcpt)']);
    expect(compileErrors('ec_maildir "a@b.c";', { phase: 'each_rcpt' })).toEqual([]);
    expect(compileErrors('ec_rewrite_mailfrom "a@b.c";', { phase: 'rcptto' })).toEqual(['1:1: ec_rewrite_mailfrom is not allowed in the rcptto phase (only in data, each_rcpt, spool)']);
    expect(compileErrors('add_recipient "a@b.c";', { phase: 'rcptto' })).toEqual([]);
    expect(compileErrors('add_recipient "a@b.c";', { phase: 'each_rcpt' })).toEqual([]);
    expect(compileErrors('add_recipient "a@b.c";', { phase: 'ehlo' })).toEqual(['1:1: add_recipient is not allowed in the ehlo phase (only in mailfrom, rcptto, data, spool, each_rcpt)']);
  });
});
