/**
 * The authentication checks' DNS answer cache (src/auth/dns-cache.ts,
 * docs/authentication.md) against the DNS server on 127.0.0.1: answers
 * kept for their TTL, negative answers for the SOA's (RFC 2308 5),
 * failures never; identical questions in flight share one query. The
 * clock is the test's, so expiry is checked without waiting.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import dnsPacket from 'dns-packet';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAuthResolve } from '../../src/auth/dns.js';
import { MessageAuthentication } from '../../src/session/message-authentication.js';
import { bufferSource } from '../../src/session/message-source.js';
import { ConnectionState, Transaction } from '../../src/session/state.js';
import { authZone, keyPair, message, signed } from '../helpers/auth-zone.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';

let dns: TestDnsServer;
let privateKey: string;
let clock = 0;
beforeAll(async () => {
  const k = keyPair();
  privateKey = k.privateKey;
  dns = await startDnsServer(authZone(k.publicKeyB64));
});
afterAll(() => dns.close());
beforeEach(() => {
  clock = 1_000_000;
  dns.queries.length = 0;
  delete dns.negativeTtl;
});

const cached = (cache: Record<string, number> = {}) => createAuthResolve({ servers: [dns.address], timeoutMs: 300, tries: 1, cache: { now: () => clock, ...cache } });
const asked = (q: string) => dns.queries.filter((x) => x === q).length;

describe('a message through SPF, DKIM, ARC and DMARC', () => {
  async function authenticate(auth: MessageAuthentication, msg: Buffer, n: number) {
    const c = new ConnectionState({ id: `s${n}`, remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 25, tls: false, hostname: 'mx.test', banner: '' });
    c.greeted('EHLO', 'client.example.com');
    const tx = new Transaction('alice@example.com', `s${n}.1`);
    await auth.mailFrom(c, tx);
    await auth.data(c, tx, bufferSource(msg));
    return tx.context;
  }

  it('asks the DNS once: the same message again within the TTL makes no new query', async () => {
    // Records and negative answers (the HELO's AAAA is NODATA) all live 60 s.
    dns.negativeTtl = 60;
    const auth = new MessageAuthentication(
      { spf: { contextVariable: 'spf_status', receivedSpf: true, authResults: true, helo: true }, dkim: { minKeyBits: 1024, arc: true }, dmarc: true, authservId: null, timeoutMs: 5000 },
      cached(),
      pino({ level: 'silent' }),
    );
    const msg = await signed(message('alice@example.com'), 'example.com', privateKey);
    const first = await authenticate(auth, msg, 1);
    expect([first.get('spf_status'), first.get('dkim_status'), first.get('dmarc_status')]).toEqual(['pass', 'pass', 'pass']);
    const queries = dns.queries.length;
    expect(queries).toBeGreaterThanOrEqual(4);
    clock += 59_000;
    const second = await authenticate(auth, msg, 2);
    expect([second.get('spf_status'), second.get('dkim_status'), second.get('dmarc_status')]).toEqual(['pass', 'pass', 'pass']);
    expect(dns.queries.slice(queries)).toEqual([]);
  });
});

describe('what is kept, and for how long', () => {
  it('asks again once the TTL has passed', async () => {
    dns.zone['short.example.com'] = { TXT: ['v=spf1 -all'], ttl: 5 };
    const resolve = cached();
    expect(await resolve('short.example.com', 'TXT')).toEqual([['v=spf1 -all']]);
    clock += 4_000;
    await resolve('short.example.com', 'TXT');
    expect(asked('TXT short.example.com')).toBe(1);
    clock += 1_500;
    dns.zone['short.example.com'] = { TXT: ['v=spf1 +all'], ttl: 5 };
    expect(await resolve('short.example.com', 'TXT')).toEqual([['v=spf1 +all']]);
    expect(asked('TXT short.example.com')).toBe(2);
  });

  it('caps a long TTL at maxTtl', async () => {
    dns.zone['long.example.com'] = { A: ['192.0.2.7'], ttl: 86_400 };
    const resolve = cached({ maxTtl: 10 });
    await resolve('long.example.com', 'A');
    clock += 11_000;
    await resolve('long.example.com', 'A');
    expect(asked('A long.example.com')).toBe(2);
  });

  it('keeps NXDOMAIN and NODATA for the SOA negative TTL (RFC 2308 5), as the codes mailauth reads', async () => {
    dns.negativeTtl = 3;
    const resolve = cached();
    for (let i = 0; i < 2; i++) {
      await expect(resolve('nothing.example.com', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
      await expect(resolve('nospf.example.com', 'TXT')).rejects.toMatchObject({ code: 'ENODATA' });
    }
    expect([asked('TXT nothing.example.com'), asked('TXT nospf.example.com')]).toEqual([1, 1]);
    clock += 3_500;
    await expect(resolve('nothing.example.com', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(asked('TXT nothing.example.com')).toBe(2);
  });

  it('keeps a negative answer without SOA only briefly, and never past maxNegativeTtl', async () => {
    const resolve = cached({ defaultNegativeTtl: 30, maxNegativeTtl: 20 });
    await expect(resolve('nothing.example.com', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    clock += 19_000;
    await expect(resolve('nothing.example.com', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    clock += 2_000;
    await expect(resolve('nothing.example.com', 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(asked('TXT nothing.example.com')).toBe(2);
  });

  it('never keeps a SERVFAIL: the next question asks again, and gets the repaired answer', async () => {
    dns.zone['flaky.example.com'] = { servfail: true };
    const resolve = cached();
    await expect(resolve('flaky.example.com', 'TXT')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    await expect(resolve('flaky.example.com', 'TXT')).rejects.toMatchObject({ code: 'ESERVFAIL' });
    expect(asked('TXT flaky.example.com')).toBe(2);
    dns.zone['flaky.example.com'] = { TXT: ['v=spf1 -all'] };
    expect(await resolve('flaky.example.com', 'TXT')).toEqual([['v=spf1 -all']]);
  });

  it('never keeps a timeout', async () => {
    dns.zone['slow.example.com'] = { silent: true };
    const resolve = cached();
    await expect(resolve('slow.example.com', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    await expect(resolve('slow.example.com', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(asked('TXT slow.example.com')).toBe(2);
  });

  it('shares one query between identical questions in flight', async () => {
    const resolve = cached();
    const answers = await Promise.all(Array.from({ length: 10 }, () => resolve('Example.COM.', 'TXT')));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(asked('TXT example.com')).toBe(1);
    expect(resolve.cache?.stats).toMatchObject({ misses: 1, shared: 9 });
  });

  it('drops the least recently used answer past maxEntries', async () => {
    const resolve = cached({ maxEntries: 2 });
    await resolve('example.com', 'TXT');
    await resolve('example.net', 'TXT');
    await resolve('example.com', 'TXT'); // used again: example.net is now the oldest
    await resolve('example.org', 'TXT');
    expect(resolve.cache?.size).toBe(2);
    await resolve('example.com', 'TXT');
    await resolve('example.net', 'TXT');
    expect([asked('TXT example.com'), asked('TXT example.net')]).toEqual([1, 2]);
  });

  it('hands out copies: a caller that changes its answer does not change the next', async () => {
    const resolve = cached();
    const a = (await resolve('example.com', 'TXT')) as string[][];
    a[0]!.push('tampered');
    expect(await resolve('example.com', 'TXT')).toEqual([['v=spf1 ip4:127.0.0.1 -all']]);
  });

  it('answers in the shapes of dns.promises.resolve: MX as {exchange, priority}', async () => {
    dns.zone['mail.example.com'] = { MX: [{ preference: 10, exchange: 'mx1.example.com' }] };
    expect(await cached()('mail.example.com', 'MX')).toEqual([{ exchange: 'mx1.example.com', priority: 10 }]);
  });

  it('asks every time when caching is off', async () => {
    const resolve = createAuthResolve({ servers: [dns.address], timeoutMs: 300, tries: 1, cache: false });
    await resolve('example.com', 'TXT');
    await resolve('example.com', 'TXT');
    expect(asked('TXT example.com')).toBe(2);
    expect(resolve.cache).toBeUndefined();
  });
});

describe('a truncated answer (RFC 7766 5)', () => {
  it('is asked again over TCP, on the same address and port', async () => {
    const key = `v=DKIM1; k=rsa; p=${'A'.repeat(2000)}`;
    const reply = (q: dnsPacket.Packet, truncated: boolean) => ({
      type: 'response' as const,
      id: q.id,
      flags: dnsPacket.RECURSION_DESIRED | (truncated ? dnsPacket.TRUNCATED_RESPONSE : 0),
      questions: q.questions,
      answers: truncated ? [] : [{ type: 'TXT' as const, name: q.questions![0]!.name, ttl: 60, data: key.match(/.{1,255}/g)! }],
    });
    const tcp = createServer((s) => s.once('data', (b) => s.end(dnsPacket.streamEncode(reply(dnsPacket.streamDecode(b), false)))));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
    const port = (tcp.address() as { port: number }).port;
    const udp = createSocket('udp4');
    udp.on('message', (m, from) => udp.send(dnsPacket.encode(reply(dnsPacket.decode(m), true)), from.port, from.address));
    await new Promise<void>((r) => udp.bind(port, '127.0.0.1', r));
    try {
      const resolve = createAuthResolve({ servers: [`127.0.0.1:${port}`], timeoutMs: 1000, tries: 1, cache: false });
      expect(((await resolve('sel._domainkey.example.com', 'TXT')) as string[][])[0]!.join('')).toBe(key);
    } finally {
      udp.close();
      tcp.close();
    }
  });
});
