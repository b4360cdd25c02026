/**
 * Next hops from a real DNS server on loopback: MX order, implicit MX,
 * NXDOMAIN / null MX / NODATA / SERVFAIL, IDN, `map`; and host fallback
 * across several loopback addresses sharing one port.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NextHopResolver } from '../../src/cbv/resolver.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { said, testEngine } from '../helpers/cbv-fixture.js';
import { startRawRemote, startSmtpRemote, standardReply, type RawRemote, type SmtpRemote } from '../helpers/smtp-remote.js';

let dns: TestDnsServer;
const remotes: Array<SmtpRemote | RawRemote> = [];

beforeAll(async () => {
  dns = await startDnsServer({
    'nomx.test': { A: ['127.0.0.1'] },
    'nothing.test': {},
    'null.test': { MX: [{ preference: 0, exchange: '.' }], A: ['127.0.0.1'] },
    'broken.test': { servfail: ['MX'] },
    'slow.test': { silent: true },
    'badname.test': { MX: [{ preference: 10, exchange: 'a..badname.test' }] },
    'badhost.test': { MX: [{ preference: 10, exchange: 'sf.badhost.test' }] },
    'sf.badhost.test': { servfail: true },
    'v6.test': { MX: [{ preference: 10, exchange: 'mx.v6.test' }] },
    'mx.v6.test': { AAAA: ['::1'] },
    'xn--bcher-kva.test': { MX: [{ preference: 10, exchange: 'mx.xn--bcher-kva.test' }] },
    'mx.xn--bcher-kva.test': { A: ['127.0.0.1'] },
    'example.test': { MX: [{ preference: 10, exchange: 'mx.example.test' }] },
    'mx.example.test': { A: ['127.0.0.1'] },
    'equal.test': {
      MX: [
        { preference: 20, exchange: 'c.equal.test' },
        { preference: 10, exchange: 'a.equal.test' },
        { preference: 10, exchange: 'b.equal.test' },
      ],
    },
    'a.equal.test': { A: ['127.0.0.2'] },
    'b.equal.test': { A: ['127.0.0.3'] },
    'c.equal.test': { A: ['127.0.0.4'] },
    'multi.test': {
      MX: [
        { preference: 10, exchange: 'mx1.multi.test' },
        { preference: 20, exchange: 'mx2.multi.test' },
        { preference: 30, exchange: 'mx3.multi.test' },
        { preference: 40, exchange: 'mx4.multi.test' },
      ],
    },
    'mx1.multi.test': { A: ['127.0.0.2'] },
    'mx2.multi.test': { A: ['127.0.0.3'] },
    'mx3.multi.test': { A: ['127.0.0.4'] },
    'mx4.multi.test': { A: ['127.0.0.5'] },
  });
});
afterAll(() => dns.close());
afterEach(async () => {
  await Promise.all(remotes.splice(0).map((r) => r.close()));
});

async function smtp(...args: Parameters<typeof startSmtpRemote>) {
  const r = await startSmtpRemote(...args);
  remotes.push(r);
  return r;
}

describe('DNS outcomes', () => {
  it('uses the domain itself when it has no MX record (NODATA): implicit MX', async () => {
    const r = await smtp();
    const v = await testEngine(dns, r.port).verify('alice@nomx.test');
    expect(v).toMatchObject({ status: 'pass', host: 'nomx.test', ip: '127.0.0.1' });
  });

  it('is an error when the domain has neither MX nor A/AAAA', async () => {
    const r = await smtp();
    const v = await testEngine(dns, r.port).verify('alice@nothing.test');
    expect(v).toMatchObject({ status: 'error', result: 'error', stage: 'dns', reason: 'no-address' });
    expect(r.connections).toBe(0);
  });

  it('is an error for NXDOMAIN, and contacts nothing', async () => {
    const r = await smtp();
    const v = await testEngine(dns, r.port).verify('alice@missing.test');
    expect(v).toMatchObject({ status: 'error', result: 'error', stage: 'dns', reason: 'nxdomain' });
    expect(r.connections).toBe(0);
    expect(dns.queries.filter((q) => q.endsWith('missing.test'))).toEqual(['MX missing.test']);
  });

  it('is an error for a null MX (RFC 7505), and contacts nothing, not even its A record', async () => {
    const r = await smtp();
    const v = await testEngine(dns, r.port).verify('alice@null.test');
    expect(v).toMatchObject({ status: 'error', stage: 'dns', reason: 'null-mx' });
    expect(r.connections).toBe(0);
    expect(dns.queries.filter((q) => q.endsWith('null.test'))).toEqual(['MX null.test']);
  });

  it('is transient for SERVFAIL', async () => {
    const v = await testEngine(dns, 9).verify('alice@broken.test');
    expect(v).toMatchObject({ status: 'transient', result: 'transient', stage: 'dns', reason: 'dns-servfail' });
  });

  it('is transient when the DNS server does not answer', async () => {
    const v = await testEngine(dns, 9, { dnsTimeoutMs: 200, dnsTries: 1 }).verify('alice@slow.test');
    expect(v).toMatchObject({ status: 'transient', stage: 'dns', reason: 'dns-timeout' });
  });

  it('is transient (deadline) when DNS outlasts the overall deadline', async () => {
    const started = Date.now();
    const v = await testEngine(dns, 9, { dnsTimeoutMs: 3000, timeout: 0.3 }).verify('alice@slow.test');
    expect(v).toMatchObject({ status: 'transient', stage: 'dns', reason: 'deadline' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('is transient when the only MX host cannot be resolved (SERVFAIL on its A/AAAA)', async () => {
    const v = await testEngine(dns, 9).verify('alice@badhost.test');
    expect(v).toMatchObject({ status: 'transient', stage: 'dns', reason: 'dns-servfail' });
  });

  it('is an error when the only MX name cannot be asked for (EBADNAME)', async () => {
    const v = await testEngine(dns, 9).verify('alice@badname.test');
    expect(v).toMatchObject({ status: 'error', stage: 'dns', reason: 'no-address' });
  });

  it('connects to an IPv6 MX address (AAAA)', async () => {
    const r = await smtp({}, { host: '::1' });
    const v = await testEngine(dns, r.port, { allowTargets: ['::1/128'] }).verify('alice@v6.test');
    expect(v).toMatchObject({ status: 'pass', host: 'mx.v6.test', ip: '::1' });
  });

  it('sends an IDN domain as its A-label, in DNS and in RCPT TO', async () => {
    const r = await smtp();
    const v = await testEngine(dns, r.port).verify('alice@Bücher.test');
    expect(v).toMatchObject({ status: 'pass', address: 'alice@xn--bcher-kva.test' });
    expect(dns.queries).toContain('MX xn--bcher-kva.test');
    expect(said(v)).toContain('RCPT TO:<alice@xn--bcher-kva.test>');
  });
});

describe('map', () => {
  it('probes the mapped domain, matching the sender domain exactly and case-insensitively', async () => {
    const r = await smtp();
    const v = await testEngine(dns, r.port, { map: { 'Alias.TEST': 'example.test' } }).verify('alice@ALIAS.test');
    expect(v).toMatchObject({ status: 'pass', address: 'alice@example.test', host: 'mx.example.test' });
    expect(r.log).toContain('RCPT <alice@example.test>');
  });

  it('does not map a subdomain by default', async () => {
    const r = await smtp();
    const v = await testEngine(dns, r.port, { map: { 'alias.test': 'example.test' } }).verify('alice@sub.alias.test');
    expect(v).toMatchObject({ status: 'error', reason: 'nxdomain', address: 'alice@sub.alias.test' });
  });

  it('maps subdomains when mapSubdomains is on', async () => {
    const r = await smtp();
    const v = await testEngine(dns, r.port, { map: { 'alias.test': 'example.test' }, mapSubdomains: true }).verify('alice@sub.alias.test');
    expect(v).toMatchObject({ status: 'pass', address: 'alice@example.test' });
  });
});

describe('MX order', () => {
  it('sorts by preference and shuffles equal preferences', async () => {
    const orders = new Set<string>();
    // Two random sequences that shuffle [c, a, b] differently.
    for (const seq of [[0.99], [0, 0.99]]) {
      let i = 0;
      const random = () => seq[i++ % seq.length] as number;
      const res = new NextHopResolver({ servers: [dns.address], timeoutMs: 500, tries: 1, random });
      const hops = await res.nextHops('equal.test');
      if (!hops.ok) throw new Error('expected hops');
      const names = hops.hops.map((h) => h.name);
      expect(names[2]).toBe('c.equal.test');
      expect(names.slice(0, 2).sort()).toEqual(['a.equal.test', 'b.equal.test']);
      orders.add(names.join(' '));
    }
    expect(orders.size).toBe(2);
  });
});

describe('host fallback', () => {
  it('tries the next MX when the first refuses the connection', async () => {
    const r = await smtp({}, { host: '127.0.0.3' });
    const v = await testEngine(dns, r.port).verify('alice@multi.test');
    expect(v).toMatchObject({ status: 'pass', host: 'mx2.multi.test', ip: '127.0.0.3' });
    expect(v.transcript.some((l) => l.text.includes('127.0.0.2') && l.dir === '*')).toBe(true);
  });

  it('tries the next MX after a 4xx, and stops at a 5xx', async () => {
    const first = await smtp({ rcpt: () => ({ code: 451, message: '4.3.0 later' }) }, { host: '127.0.0.2' });
    const second = await smtp({ rcpt: () => ({ code: 550, message: '5.1.1 unknown' }) }, { host: '127.0.0.3', port: first.port });
    const third = await smtp({}, { host: '127.0.0.4', port: first.port });
    const v = await testEngine(dns, first.port).verify('alice@multi.test');
    expect(v).toMatchObject({ status: 'fail', host: 'mx2.multi.test', reason: 'rejected' });
    expect([first.connections, second.connections, third.connections]).toEqual([1, 1, 0]);
  });

  it('tries at most maxHosts hosts', async () => {
    const raw = await startRawRemote({ onConnect: (c) => c.send('421 4.3.2 busy'), onLine: standardReply }, { host: '127.0.0.5' });
    remotes.push(raw);
    const v = await testEngine(dns, raw.port, { maxHosts: 2 }).verify('alice@multi.test');
    expect(v).toMatchObject({ status: 'transient', reason: 'connect-refused', host: 'mx2.multi.test' });
    expect(v.transcript.filter((l) => l.text.startsWith('connect ')).length).toBe(2);
    expect(raw.connections).toBe(0);
  });

  it('checks the overall deadline before each host and bounds every wait by it', async () => {
    const slow = await smtp({ greetingDelayMs: 3000 }, { host: '127.0.0.2' });
    const second = await smtp({}, { host: '127.0.0.3', port: slow.port });
    const started = Date.now();
    const v = await testEngine(dns, slow.port, { timeout: 0.5, greetingTimeoutMs: 5000 }).verify('alice@multi.test');
    expect(v).toMatchObject({ status: 'transient', reason: 'deadline', stage: 'greeting' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(second.connections).toBe(0);
    expect(said(v)).toEqual([]);
  });
});

describe('a resolver that denies everything', () => {
  it('gives a transient DNS failure, not an error, when even the top-level domain "does not exist"', async () => {
    // A zone with nothing under .example: the resolver answers NXDOMAIN for
    // sender.example and for "example" itself, as a resolver cut off from the
    // internet does. Mail must be tempfailed, not refused.
    const lying = await startDnsServer({ 'other.test': { A: ['127.0.0.1'] } });
    try {
      const engine = testEngine(lying, 1);
      const v = await engine.verify('alice@sender.example');
      expect(v).toMatchObject({ status: 'transient', result: 'transient', stage: 'dns', reason: 'dns-error' });
      expect(v.message).toMatch(/denies the top-level domain too/);
      expect(lying.queries).toEqual(['MX sender.example', 'NS example']);
    } finally {
      await lying.close();
    }
  });
});
