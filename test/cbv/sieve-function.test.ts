/**
 * smtp_callback_verify as Momentum scripts use it: Momentum's documented
 * example, unchanged, against a real CBV engine that asks the test DNS
 * server and probes a scripted remote on 127.0.0.1; the phase rules; the
 * dry-run stub; and ec_dns_lookup through the same DNS server.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CBV_SERVICE, type CbvVerifier } from '../../src/cbv/sieve-function.js';
import type { Verdict } from '../../src/cbv/index.js';
import { createDnsLookup } from '../../src/policy/dns-lookup.js';
import { functionServices, productFunctions } from '../../src/policy/functions.js';
import { compileSieve } from '../../src/sievepp/compile.js';
import { execute } from '../../src/sieve/interpreter.js';
import type { MomentumHost } from '../../src/sievepp/host.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { oneMx, testEngine } from '../helpers/cbv-fixture.js';
import { startSmtpRemote, type SmtpRemote } from '../helpers/smtp-remote.js';

let dns: TestDnsServer;
let remote: SmtpRemote;
beforeAll(async () => {
  dns = await startDnsServer({ ...oneMx('example.test'), 'servfail.test': { servfail: true }, 'two.test': { A: ['192.0.2.1', '192.0.2.2'] } });
  remote = await startSmtpRemote({ rcpt: (a) => (a.startsWith('nobody') ? { code: 550, message: '5.1.1 No such user' } : undefined) });
});
afterAll(async () => {
  await dns.close();
  await remote.close();
});

const MOMENTUM_EXAMPLE = `$from = envelope "from";
($rv) = smtp_callback_verify "\${from}";
if ec_test :is "\${rv}" "fail" { ec_action 550 "sender verification failed"; }
`;

const functions = productFunctions();

async function runScript(script: string, from: string, o: { phase?: string; compilePhase?: string; cbv?: CbvVerifier } = {}) {
  const c = compileSieve(script, { functions, phase: o.compilePhase });
  expect(c.diagnostics).toEqual([]);
  const host: MomentumHost = { services: functionServices(o.cbv ?? testEngine(dns, remote.port)) };
  const r = await execute(c.script!, { message: null, envelope: { from, to: ['rcpt@local.test'] }, phase: o.phase ?? 'mailfrom' }, host);
  return { ...r, actions: r.actions.map(({ def: _def, pos: _p, ...a }) => a) };
}

describe("Momentum's documented example", () => {
  it('refuses a sender the remote rejects with ec_action 550', async () => {
    const r = await runScript(MOMENTUM_EXAMPLE, 'nobody@example.test', { compilePhase: 'mailfrom' });
    expect(r.errors).toEqual([]);
    expect(r.actions).toEqual([{ type: 'ec_action', data: { code: 550, text: 'sender verification failed' } }]);
    expect(remote.log).toContain('RCPT <nobody@example.test>');
  });

  it('lets a sender the remote accepts through', async () => {
    const r = await runScript(MOMENTUM_EXAMPLE, 'alice@example.test', { phase: 'rcptto' });
    expect(r.errors).toEqual([]);
    expect(r.actions).toEqual([]);
    expect(r.implicitKeep).toBe(true);
  });

  it('the cbv.md example (examples/sieve/sender-verify.siv) gives the status and the remote reply', async () => {
    const script = await readFile(join(import.meta.dirname, '../../examples/sieve/sender-verify.siv'), 'utf8');
    const r = await runScript(script, 'nobody@example.test');
    expect(r.actions).toEqual([{ type: 'ec_action', data: { code: 550, text: '5.1.7 sender rejected: 550 5.1.1 No such user' } }]);
  });
});

describe('smtp_callback_verify', () => {
  it('returns [status, message]; the optional sender is the probe MAIL FROM', async () => {
    const r = await runScript('($s, $m) = smtp_callback_verify "alice@example.test" "probe@verifier.test"; $all = smtp_callback_verify "nobody@example.test";', 'x@y.test');
    expect(r.errors).toEqual([]);
    const v = (n: string) => r.runtime.variable(n, undefined);
    expect([v('s'), v('m')]).toEqual(['pass', expect.stringMatching(/^250/)]);
    expect(remote.log).toContain('MAIL <probe@verifier.test>');
    expect(v('all')).toBe('fail 550 5.1.1 No such user');
  });

  it('gives transient and error statuses, not runtime errors', async () => {
    const r = await runScript('($a) = smtp_callback_verify "x@servfail.test"; ($b) = smtp_callback_verify "x@nowhere.test";', 'x@y.test');
    expect(r.errors).toEqual([]);
    expect([r.runtime.variable('a', undefined), r.runtime.variable('b', undefined)]).toEqual(['transient', 'error']);
  });

  it('is a compile error outside mailfrom and rcptto when the phase is known, positioned', () => {
    for (const phase of ['connect', 'ehlo', 'data']) {
      const d = compileSieve('$x = "a";\n($rv) = smtp_callback_verify "a@b.test";', { functions, phase }).diagnostics;
      expect(d.map((e) => `${e.line}:${e.column}: ${e.message}`)).toEqual([`2:9: smtp_callback_verify is not allowed in the ${phase} phase (only in mailfrom, rcptto)`]);
    }
  });

  it('is a runtime error outside mailfrom and rcptto when only the run knows the phase', async () => {
    const r = await runScript('($rv) = smtp_callback_verify "a@example.test";', 'x@y.test', { phase: 'connect' });
    expect(r.errors.map((e) => e.message)).toEqual(['smtp_callback_verify is not allowed in the connect phase (only in mailfrom, rcptto)']);
  });

  it('refuses wrong arguments, and is unknown to the rfc dialect and to registries without CBV', () => {
    const errs = (s: string, o = {}) => compileSieve(s, { functions, ...o }).diagnostics.map((e) => `${e.line}:${e.column}: ${e.message}`);
    expect(errs('($rv) = smtp_callback_verify;')).toEqual(['1:9: the smtp_callback_verify function requires 1 positional argument(s), but 0 is/are specified']);
    expect(errs('smtp_callback_verify "a";')).toEqual(["1:1: 'smtp_callback_verify' gives a value and cannot be used as a command: assign it, as in $x = smtp_callback_verify ...;"]);
    expect(errs('smtp_callback_verify "a";', { dialect: 'rfc' })).toEqual(["1:1: 'smtp_callback_verify' is a Momentum Sieve++ command, which the 'rfc' dialect does not allow"]);
    expect(errs('($rv) = smtp_callback_verify "a";', { dialect: 'rfc' })[0]).toMatch(/Sieve\+\+ syntax, which the 'rfc' dialect does not allow/);
    expect(errs('($rv) = smtp_callback_verify "a" "b" "c";')).toEqual(['1:9: the smtp_callback_verify function requires 2 positional argument(s), but 3 is/are specified']);
    expect(errs('($rv) = smtp_callback_verify 5;')).toEqual(['1:30: the smtp_callback_verify function expects a string as argument 1 (address), but a number was found']);
    expect(compileSieve('($rv) = smtp_callback_verify "a";').diagnostics.map((e) => e.message)).toEqual(["unknown test 'smtp_callback_verify' (only reported once at first occurrence)"]);
  });

  it('fails clearly at run time when the host has no engine', async () => {
    const c = compileSieve('($rv) = smtp_callback_verify "a@example.test";', { functions });
    const r = await execute(c.script!, { message: null, envelope: { from: '', to: [] }, phase: 'mailfrom' }, {});
    expect(r.errors.map((e) => e.message)).toEqual(['smtp_callback_verify: no CBV engine is configured for this run']);
  });

  it('a dry-run host stubs the engine with any CbvVerifier: no network', async () => {
    const asked: string[] = [];
    const stub: CbvVerifier = {
      verify: async (address, opts) => {
        asked.push(`${address} ${opts?.sender ?? '(module sender)'}`);
        return { status: 'fail', message: '550 stubbed' } as Verdict;
      },
    };
    const r = await runScript(MOMENTUM_EXAMPLE, 'joe@stub.test', { cbv: stub });
    expect(asked).toEqual(['joe@stub.test (module sender)']);
    expect(r.actions).toEqual([{ type: 'ec_action', data: { code: 550, text: 'sender verification failed' } }]);
    expect(CBV_SERVICE).toBe('cbv');
  });

  it('an included script can call it too: includes inherit the functions, dialect and phase', async () => {
    const stub: CbvVerifier = { verify: async () => ({ status: 'fail', message: '550 stubbed' }) as Verdict };
    const policy = 'require "include";\ninclude :global "cbv";';
    const c = compileSieve(policy, { functions, phase: 'mailfrom' });
    const host: MomentumHost = { services: functionServices(stub), loadScript: () => MOMENTUM_EXAMPLE };
    const r = await execute(c.script!, { message: null, envelope: { from: 'joe@example.test', to: [] }, phase: 'mailfrom' }, host);
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => a.type)).toEqual(['ec_action']);
    const rfc = compileSieve(policy, { functions, dialect: 'rfc' });
    const failed = await execute(rfc.script!, { message: null, envelope: { from: 'joe@example.test', to: [] } }, host);
    expect(failed.errors.map((e) => e.message)[0]).toMatch(/^include: failed to compile script 'cbv': 1: .*'rfc' dialect does not allow/);
  });

  it('runs of different sessions wait on their own probes, concurrently', async () => {
    const slow = await startSmtpRemote({ rcpt: () => ({ code: 250, message: 'ok', delayMs: 300 }) });
    try {
      const engine = testEngine(dns, slow.port);
      const started = Date.now();
      const runs = await Promise.all(['a', 'b', 'c'].map((u) => runScript(`($s) = smtp_callback_verify "${u}@example.test";`, 'x@y.test', { cbv: engine })));
      expect(runs.map((r) => r.runtime.variable('s', undefined))).toEqual(['pass', 'pass', 'pass']);
      expect(Date.now() - started).toBeLessThan(900);
    } finally {
      await slow.close();
    }
  });
});

describe('ec_dns_lookup through SieveHost.dnsLookup', () => {
  const host = (): MomentumHost => ({ dnsLookup: createDnsLookup({ servers: [dns.address], timeoutMs: 500, tries: 1 }) });
  const run = async (script: string) => {
    const c = compileSieve(script, { functions });
    expect(c.diagnostics).toEqual([]);
    return execute(c.script!, { message: null, envelope: { from: '', to: [] } }, host());
  };

  it('gives the answers as a list; NXDOMAIN is an empty list; MX as "pref host"', async () => {
    const r = await run('$a = ec_dns_lookup "two.test"; $n = ec_dns_lookup "none.test" "A"; $m = ec_dns_lookup "example.test" "mx"; if ec_dns_lookup "two.test" { $t = "yes"; }');
    expect(r.errors).toEqual([]);
    const { getValue } = await import('../../src/sievepp/values.js');
    expect(getValue(r.runtime, 'a')).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(getValue(r.runtime, 'n')).toEqual([]);
    expect(getValue(r.runtime, 'm')).toEqual(['10 mx.example.test']);
    expect(getValue(r.runtime, 't')).toBe('yes');
  });

  it('a failed lookup is a runtime error at the call', async () => {
    const r = await run('$x = "a";\n$a = ec_dns_lookup "servfail.test";');
    expect(r.errors.map((e) => [e.pos?.line, e.message.replace(/\(.*\)/, '(...)')])).toEqual([[2, 'ec_dns_lookup: A servfail.test failed (...)']]);
  });

  it('refuses an unknown record type at compile time and a host without DNS at run time', async () => {
    expect(compileSieve('$a = ec_dns_lookup "x" "SRVX";', { functions }).diagnostics.map((e) => `${e.line}:${e.column}: ${e.message}`)).toEqual([
      "1:24: ec_dns_lookup: unsupported record type 'SRVX' (A, AAAA, MX, TXT, PTR, NS, CNAME)",
    ]);
    const c = compileSieve('$a = ec_dns_lookup "x";', { functions });
    const r = await execute(c.script!, { message: null, envelope: { from: '', to: [] } }, {});
    expect(r.errors.map((e) => e.message)).toEqual(['ec_dns_lookup: this host offers no DNS look-ups']);
  });
});
