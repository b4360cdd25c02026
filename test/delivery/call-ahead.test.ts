/**
 * The recipient call-ahead service (src/delivery/call-ahead.ts) against
 * scripted next hops on 127.0.0.1: the route's gateway is asked, never
 * DATA; verdicts are cached; identical questions share one connection;
 * the rate limit and a next hop that is down give transient verdicts.
 */
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/cbv/cache.js';
import { parseConfigText } from '../../src/config/load.js';
import type { Config } from '../../src/config/index.js';
import { RecipientVerifier } from '../../src/delivery/call-ahead.js';
import { refusalFor } from '../../src/session/recipient-verification.js';
import { oneMx } from '../helpers/cbv-fixture.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { freePort } from '../helpers/free-port.js';
import { startSmtpRemote, type SmtpRemote } from '../helpers/smtp-remote.js';

const silent = pino({ level: 'silent' });

function configOf(text: string): Config {
  const r = parseConfigText(text, 'test.conf');
  if (!r.config) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n'));
  return r.config;
}

/** A verifier whose default route is the gateway at `port`, with short timeouts. */
function verifier(port: number, extra = '', store = new MemoryStore(1000)): RecipientVerifier {
  const conf = configOf(`Gateway = "127.0.0.1:${port}"\nTLS = no\nRecipient_Verify = true\nrecipient_verify_timeout = 3\nConnect_Timeout = 2\n${extra}\n`);
  return new RecipientVerifier(conf, { store }, silent);
}

let remote: SmtpRemote;
beforeAll(async () => {
  remote = await startSmtpRemote({
    rcpt: (a) => {
      if (a.startsWith('nobody')) return { code: 550, message: '5.1.1 <nobody@dest.test>: Recipient address rejected: User unknown' };
      if (a.startsWith('later')) return { code: 450, message: '4.2.0 try later' };
      if (a.startsWith('slow')) return { code: 250, message: 'ok', delayMs: 150 };
      return undefined;
    },
  });
});
afterAll(() => remote.close());
afterEach(() => {
  remote.log.length = 0;
});

describe('recipient call-ahead to the route of the recipient', () => {
  it('asks the gateway with the configured sender and never sends DATA; the next verdict comes from the cache', async () => {
    const v = verifier(remote.port, 'recipient_verify_sender = "verify@relay.test"');
    const before = remote.connections;
    const first = await v.verify('alice@dest.test');
    expect(first).toMatchObject({ status: 'pass', reason: 'accepted', cached: false, host: '127.0.0.1' });
    expect(remote.log).toEqual(['MAIL <verify@relay.test>', 'RCPT <alice@dest.test>']);
    const again = await v.verify('alice@dest.test');
    expect(again).toMatchObject({ status: 'pass', cached: true });
    expect(remote.connections - before).toBe(1);
    expect(remote.sawData).toBe(false);
    expect(refusalFor(first)).toBeUndefined();
  });

  it("a 5xx from the next hop is 550 5.1.1 with the next hop's text, and is cached", async () => {
    const v = verifier(remote.port);
    const fail = await v.verify('nobody@dest.test');
    expect(fail).toMatchObject({ status: 'fail', reason: 'rejected' });
    expect(refusalFor(fail)).toEqual({ code: 550, enhanced: '5.1.1', text: '<nobody@dest.test>: Recipient address rejected by the next hop (<nobody@dest.test>: Recipient address rejected: User unknown)' });
    const before = remote.connections;
    expect(await v.verify('nobody@dest.test')).toMatchObject({ status: 'fail', cached: true });
    expect(remote.connections).toBe(before);
  });

  it('a 4xx from the next hop is 451 and is not cached', async () => {
    const v = verifier(remote.port);
    const t = await v.verify('later@dest.test');
    expect(t).toMatchObject({ status: 'transient', reason: 'tempfail', cached: false });
    expect(refusalFor(t)).toMatchObject({ code: 451, enhanced: '4.4.0' });
    expect(refusalFor(t)!.text).toContain('try later');
    expect(await v.verify('later@dest.test')).toMatchObject({ cached: false });
    expect(remote.log.filter((l) => l.startsWith('RCPT'))).toHaveLength(2);
  });

  it('many identical questions at once share one connection (single flight)', async () => {
    const v = verifier(remote.port);
    const before = remote.connections;
    const all = await Promise.all(Array.from({ length: 25 }, () => v.verify('slow@dest.test')));
    expect(all.every((x) => x.status === 'pass')).toBe(true);
    expect(remote.connections - before).toBe(1);
    expect(v.stats).toMatchObject({ probes: 1, joined: 24 });
  });

  it('past the per-domain rate the verdict is transient rate-limited (451 4.4.5), without a connection', async () => {
    const v = verifier(remote.port, 'recipient_verify_rate_limit = 2');
    expect((await v.verify('a1@dest.test')).status).toBe('pass');
    expect((await v.verify('a2@dest.test')).status).toBe('pass');
    const before = remote.connections;
    const limited = await v.verify('a3@dest.test');
    expect(limited).toMatchObject({ status: 'transient', reason: 'rate-limited' });
    expect(refusalFor(limited)).toMatchObject({ code: 451, enhanced: '4.4.5' });
    expect(remote.connections).toBe(before);
    // Another domain has its own count.
    expect((await v.verify('a3@other.test')).status).toBe('pass');
  });

  it('a next hop that is down gives 451 4.4.1, never an accept or a 550, and nothing is cached', async () => {
    const v = verifier(await freePort());
    const down = await v.verify('alice@dest.test');
    expect(down).toMatchObject({ status: 'transient', reason: 'connect-refused' });
    expect(refusalFor(down)).toMatchObject({ code: 451, enhanced: '4.4.1' });
    expect(await v.verify('alice@dest.test')).toMatchObject({ cached: false, reason: 'connect-refused' });
  });

  it('keeps its cache entries apart from the sender CBV in a shared store', async () => {
    const store = new MemoryStore(1000);
    const v = verifier(remote.port, '', store);
    await v.verify('bob@dest.test');
    expect(await store.get('a:bob@dest.test')).toBeUndefined();
    expect(await store.get('rcpt:a:bob@dest.test')).toMatchObject({ reason: 'accepted' });
  });
});

describe('a gateway a script chose for the recipient (ec_set_routing_gateway)', () => {
  let chosen: SmtpRemote;
  beforeAll(async () => {
    chosen = await startSmtpRemote({ rcpt: (a) => (a.startsWith('alice') ? { code: 550, message: '5.1.1 unknown at the chosen gateway' } : undefined) });
  });
  afterAll(() => chosen.close());

  it("is asked in place of the route's next hop, and keeps verdicts of its own", async () => {
    const v = verifier(remote.port);
    const gateway = `127.0.0.1:${chosen.port}`;
    const routeBefore = remote.connections;
    expect(await v.verify('alice@dest.test', {}, gateway)).toMatchObject({ status: 'fail', reason: 'rejected', cached: false });
    expect(chosen.log).toEqual(['MAIL <>', 'RCPT <alice@dest.test>']);
    expect(remote.connections).toBe(routeBefore);
    // The route's next hop answers for itself: the gateway's verdict is not its.
    expect(await v.verify('alice@dest.test')).toMatchObject({ status: 'pass', cached: false });
    expect(await v.verify('alice@dest.test', {}, gateway)).toMatchObject({ status: 'fail', cached: true });
    expect(chosen.sawData).toBe(false);
  });

  it('is asked for a recipient whose domain is delivered here, as its mail leaves by it; not without routing', () => {
    const v = new RecipientVerifier(configOf('Gateway = "127.0.0.1:25"\nRecipient_Verify = true\nDomain "local.test" { Delivery_Method = maildir }'), { store: new MemoryStore(10) }, silent);
    expect(v.notAsked('a@local.test')).toBe('local');
    expect(v.notAsked('a@local.test', '192.0.2.1:2525')).toBeUndefined();
    v.reconfigure(configOf('Recipient_Verify = true'));
    expect(v.notAsked('a@any.test', '192.0.2.1:2525')).toBe('not-routed');
  });
});

describe('which recipients are asked', () => {
  it('follows Recipient_Verify at the top level and in Domain scopes', () => {
    const conf = configOf(['Gateway = "127.0.0.1:25"', 'Domain "off.test" { Recipient_Verify = false }', 'Domain "on.test" { Recipient_Verify = true }', 'Domain "local.test" { Delivery_Method = maildir Recipient_Verify = true }'].join('\n'));
    const v = new RecipientVerifier(conf, { store: new MemoryStore(10) }, silent);
    expect(v.notAsked('a@any.test')).toBe('off');
    expect(v.notAsked('a@on.test')).toBeUndefined();
    expect(v.notAsked('a@local.test')).toBe('local');
    const all = configOf('Gateway = "127.0.0.1:25"\nRecipient_Verify = true\nDomain "off.test" { Recipient_Verify = false }');
    v.reconfigure(all);
    expect(v.notAsked('a@any.test')).toBeUndefined();
    expect(v.notAsked('a@off.test')).toBe('off');
    // <Postmaster> without a domain is ours (RFC 5321 4.1.1.3).
    expect(v.notAsked('Postmaster')).toBe('local');
    // Nothing routed: mail stays in the local spool, there is no next hop.
    v.reconfigure(configOf('Recipient_Verify = true'));
    expect(v.notAsked('a@any.test')).toBe('not-routed');
  });

  it('an address the probe cannot write safely is not refused: error invalid-address, no connection', async () => {
    const v = verifier(remote.port);
    const before = remote.connections;
    const verdict = await v.verify('"john doe"@dest.test');
    expect(verdict).toMatchObject({ status: 'error', reason: 'invalid-address' });
    expect(refusalFor(verdict)).toBeUndefined();
    expect(remote.connections).toBe(before);
  });

  it('a domain delivered locally has no next hop: error, no connection', async () => {
    const v = verifier(remote.port, 'Domain "local.test" { Delivery_Method = maildir }');
    const before = remote.connections;
    expect(await v.verify('a@local.test')).toMatchObject({ status: 'error', reason: 'no-allowed-target' });
    expect(remote.connections).toBe(before);
  });

  it("docs/recipient-verification.md's example configuration loads and means what the page says", () => {
    const doc = readFileSync(new URL('../../docs/recipient-verification.md', import.meta.url), 'utf8');
    const example = /```\n([\s\S]*?)```/.exec(doc)![1]!;
    const v = new RecipientVerifier(configOf(example), { store: new MemoryStore(10) }, silent);
    expect(v.notAsked('a@example.com')).toBeUndefined();
    expect(v.notAsked('a@lists.example.com')).toBe('off');
    expect(v.notAsked('a@example.org')).toBeUndefined();
  });

  it('reports option errors with file:line:col', () => {
    const r = parseConfigText('Recipient_Verify = maybe\nDomain "x.test" {\n  recipient_verify_timeout = 5\n}\n', 'bad.conf');
    expect(r.config).toBeNull();
    const text = r.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`);
    expect(text[0]).toMatch(/^bad\.conf:1:\d+: .*boolean/);
    expect(text.some((t) => /^bad\.conf:3:3: .*recipient_verify_timeout/.test(t))).toBe(true);
  });
});

describe('STARTTLS', () => {
  it('is used when the next hop offers it, and not on a route with TLS = no', async () => {
    const tls = await startSmtpRemote({ startTls: true });
    try {
      const conf = (mode: string) => configOf(`Gateway = "127.0.0.1:${tls.port}"\nTLS = ${mode}\nRecipient_Verify = true\nrecipient_verify_timeout = 5\n`);
      await new RecipientVerifier(conf('ifavailable'), { store: new MemoryStore(10) }, silent).verify('a@dest.test');
      await new RecipientVerifier(conf('no'), { store: new MemoryStore(10) }, silent).verify('b@dest.test');
      expect(tls.log.filter((l) => l.startsWith('RCPT'))).toEqual(['RCPT <a@dest.test> secure', 'RCPT <b@dest.test>']);
    } finally {
      await tls.close();
    }
  });
});

describe('an LMTP route', () => {
  it('is greeted with LHLO (RFC 2033 4.1)', async () => {
    const seen: string[] = [];
    const lmtp = new SMTPServer({
      lmtp: true,
      logger: false,
      disableReverseLookup: true,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      onRcptTo(a, _s, cb) {
        seen.push(a.address);
        cb(a.address.startsWith('nobody') ? Object.assign(new Error('5.1.1 unknown'), { responseCode: 550 }) : undefined);
      },
    });
    await new Promise<void>((resolve) => lmtp.listen(0, '127.0.0.1', () => resolve()));
    const port = (lmtp.server.address() as { port: number }).port;
    try {
      const v = verifier(remote.port, `Domain "lmtp.test" { Gateway = "127.0.0.1:${port}" Delivery_Method = LMTP }`);
      expect(await v.verify('ann@lmtp.test')).toMatchObject({ status: 'pass' });
      const no = await v.verify('nobody@lmtp.test');
      expect(no.status).toBe('fail');
      expect(no.transcript.some((l) => l.dir === 'C' && l.text.startsWith('LHLO '))).toBe(true);
      expect(seen).toEqual(['ann@lmtp.test', 'nobody@lmtp.test']);
    } finally {
      await new Promise<void>((resolve) => lmtp.close(() => resolve()));
    }
  });
});

describe('a route to the MX hosts', () => {
  it('asks the MX hosts through the delivery guard; the domain\'s own DNS can refuse permanently', async () => {
    const dns = await startDnsServer({
      ...oneMx('mx.test'),
      'nullmx.test': { MX: [{ preference: 0, exchange: '.' }] },
      'broken.test': { servfail: true },
    });
    try {
      const routes = (allow: string) =>
        [`delivery_dns_servers = ( "${dns.address}" )`, allow, `Remote_SMTP_Port = ${remote.port}`, 'TLS = no', 'Delivery_Method = esmtp', 'Recipient_Verify = true', ''].join('\n');
      const v = new RecipientVerifier(configOf(routes('delivery_allow_targets = ( "127.0.0.0/8" )')), { store: new MemoryStore(100) }, silent);
      expect(await v.verify('alice@mx.test')).toMatchObject({ status: 'pass', host: 'mx.mx.test', ip: '127.0.0.1' });
      const nullMx = await v.verify('a@nullmx.test');
      expect(refusalFor(nullMx)).toMatchObject({ code: 556, enhanced: '5.1.10' });
      const nx = await v.verify('a@nowhere.test');
      expect(refusalFor(nx)).toMatchObject({ code: 550, enhanced: '5.1.2' });
      const servfail = await v.verify('a@broken.test');
      expect(servfail.status).toBe('transient');
      expect(refusalFor(servfail)).toMatchObject({ code: 451, enhanced: '4.4.3' });
      // Loopback is not a place MX delivery goes unless allowed.
      const guarded = new RecipientVerifier(configOf(routes('')), { store: new MemoryStore(100) }, silent);
      expect(refusalFor(await guarded.verify('bob@mx.test'))).toMatchObject({ code: 550, enhanced: '5.4.4' });
    } finally {
      await dns.close();
    }
  });

  it('a next hop that refuses our greeting is ours to fix: 451, not 550', async () => {
    const grumpy = await startSmtpRemote({ greeting: { code: 554, message: 'go away' } });
    try {
      const verdict = await verifier(grumpy.port).verify('alice@dest.test');
      expect(verdict).toMatchObject({ status: 'error', reason: 'greeting-rejected' });
      expect(refusalFor(verdict)).toMatchObject({ code: 451, enhanced: '4.4.0' });
    } finally {
      await grumpy.close();
    }
  });
});
