/**
 * The target guard: ranges as a pure classification (no socket is ever
 * opened to anything but loopback), and the refusal end to end with a
 * loopback target that is not allow-listed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkTarget, classifyAddress, isAddressLiteralName, parseCidrs } from '../../src/cbv/guard.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { oneMx, testEngine } from '../helpers/cbv-fixture.js';
import { startSmtpRemote, type SmtpRemote } from '../helpers/smtp-remote.js';

describe('classification', () => {
  const refused: Array<[string, string]> = [
    ['127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['0.0.0.0', 'unspecified'],
    ['192.0.2.10', 'reserved'], // TEST-NET-1 (documentation)
    ['198.51.100.10', 'reserved'], // TEST-NET-2
    ['203.0.113.10', 'reserved'], // TEST-NET-3
    ['198.18.0.1', 'reserved'], // benchmarking
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'], // documentation
    ['::ffff:10.0.0.1', 'private'], // v4-mapped: judged by its IPv4 address
    ['::ffff:127.0.0.1', 'loopback'],
    ['2002:7f00:1::1', '6to4'], // embeds an IPv4 address
    ['64:ff9b::a00:1', 'rfc6052'], // NAT64
  ];
  it.each(refused)('refuses %s (%s) unless allow-listed', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
    expect(checkTarget(ip, [])).toEqual({ allowed: false, class: cls });
  });

  it.each(['8.8.8.8', '193.0.6.139', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('lets global unicast %s through', (ip) => {
    expect(checkTarget(ip, [])).toEqual({ allowed: true, class: 'unicast' });
  });

  it('lets an allow-listed range through, and only that range', () => {
    const allow = parseCidrs(['127.0.0.0/8', '10.9.0.0/16', 'fd00::1']);
    expect(checkTarget('127.0.0.2', allow).allowed).toBe(true);
    expect(checkTarget('::ffff:127.0.0.1', allow).allowed).toBe(true);
    expect(checkTarget('10.9.1.1', allow).allowed).toBe(true);
    expect(checkTarget('10.8.1.1', allow).allowed).toBe(false);
    expect(checkTarget('fd00::1', allow).allowed).toBe(true);
    expect(checkTarget('fd00::2', allow).allowed).toBe(false);
    expect(checkTarget('::1', allow).allowed).toBe(false);
  });

  it('refuses what is not an address', () => {
    expect(checkTarget('mx.example.test', [])).toEqual({ allowed: false, class: 'invalid' });
  });

  it('throws on a malformed CIDR (a configuration error)', () => {
    expect(() => parseCidrs(['127.0.0.0/33'])).toThrow();
    expect(() => parseCidrs(['nope'])).toThrow();
  });

  it('recognises MX names that are address literals (RFC 5321 5.1)', () => {
    for (const n of ['127.0.0.1', '127.0.0.1.', '[127.0.0.1]', '::1', '10.0.0.1']) expect(isAddressLiteralName(n)).toBe(true);
    for (const n of ['mx.example.test', 'mx1.example.test.', '1.example.test']) expect(isAddressLiteralName(n)).toBe(false);
  });
});

describe('end to end', () => {
  let dns: TestDnsServer;
  let remote: SmtpRemote;
  beforeAll(async () => {
    dns = await startDnsServer({
      ...oneMx('example.test'),
      'literal.test': { MX: [{ preference: 10, exchange: '127.0.0.1' }] },
      'mixed.test': {
        MX: [
          { preference: 10, exchange: '127.0.0.1' },
          { preference: 20, exchange: 'mx.example.test' },
        ],
      },
    });
  });
  afterAll(() => dns.close());
  beforeAll(async () => {
    remote = await startSmtpRemote();
  });
  afterAll(() => remote.close());
  afterEach(() => {
    remote.connections = 0;
  });

  it('refuses a loopback MX that is not allow-listed, and connects to nothing', async () => {
    const v = await testEngine(dns, remote.port, { allowTargets: [] }).verify('alice@example.test');
    expect(v).toMatchObject({ status: 'error', result: 'error', stage: 'policy', reason: 'no-allowed-target' });
    expect(remote.connections).toBe(0);
  });

  it('resolves the MX name once and connects to the address it vetted (no rebinding)', async () => {
    const before = dns.queries.filter((q) => q === 'A mx.example.test').length;
    const v = await testEngine(dns, remote.port).verify('rebind@example.test');
    expect(v).toMatchObject({ status: 'pass', ip: '127.0.0.1' });
    expect(dns.queries.filter((q) => q === 'A mx.example.test').length - before).toBe(1);
    expect(v.transcript.find((l) => l.text.startsWith('connect '))?.text).toBe(`connect 127.0.0.1:${remote.port}`);
  });

  it('skips an MX that is an IP literal even when its address is allow-listed', async () => {
    const v = await testEngine(dns, remote.port).verify('alice@literal.test');
    expect(v).toMatchObject({ status: 'error', stage: 'policy', reason: 'no-allowed-target' });
    expect(remote.connections).toBe(0);
  });

  it('goes on to the next MX after skipping an address literal', async () => {
    const v = await testEngine(dns, remote.port).verify('alice@mixed.test');
    expect(v).toMatchObject({ status: 'pass', host: 'mx.example.test' });
    expect(remote.connections).toBe(1);
  });
});
