/**
 * SPF, DKIM and DMARC through a real SMTP session on 127.0.0.1 with Sieve
 * policies acting on the results (the examples of docs/authentication.md):
 * a DMARC p=reject failure gets 550 at DATA, an SPF softfail is tagged, a
 * DKIM failure is filed into Junk; the stored message carries our
 * Authentication-Results and not the forged one.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageAuthentication } from '../../src/session/message-authentication.js';
import { capturingLogger, sievePolicy } from '../frontdoors/fixture.js';
import { type AuthDns, message, signed, startAuthDns } from '../helpers/auth-zone.js';
import { startTestServer, type TestServerOptions } from '../helpers/server-fixture.js';
import type { RawSmtpClient } from '../helpers/smtp-client.js';

let z: AuthDns;
beforeAll(async () => {
  z = await startAuthDns();
});
afterAll(() => z.dns.close());
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const MAILFROM = `
if vctx_mess :is "spf_status" "softfail" {
  ec_header_add "X-SPF-Warning" "softfail for %{spfv1:d} checked by %{spfv1:r}";
}
`;
const DATA = `
require "fileinto";
if allof (vctx_mess :is "dmarc_status" "fail", vctx_mess :is "dmarc_policy" "reject") {
  ec_action 550 "5.7.1 DMARC policy of %{vctx_mess:dmarc_domain} rejects this message";
}
if vctx_mess :is "dkim_status" "fail" {
  fileinto "Junk";
}
`;

async function start(data = DATA, logger = pino({ level: 'silent' }), front: TestServerOptions = {}) {
  const authentication = new MessageAuthentication(
    { spf: { contextVariable: 'spf_status', receivedSpf: true, authResults: true, helo: true }, dkim: { minKeyBits: 1024, arc: true }, dmarc: true, authservId: null, timeoutMs: 5000 },
    z.resolve,
    pino({ level: 'silent' }),
  );
  const t = await startTestServer(sievePolicy({ mailfrom: MAILFROM, data }), { ...front, services: { authentication, logger } });
  cleanups.push(() => t.close());
  return t;
}

async function send(c: RawSmtpClient, from: string, msg: Buffer) {
  expect((await c.reply()).code).toBe(220);
  expect((await c.command('EHLO client.example.com')).code).toBe(250);
  const mail = await c.command(`MAIL FROM:<${from}>`);
  expect((await c.command('RCPT TO:<bob@here.test>')).code).toBe(250);
  expect((await c.command('DATA')).code).toBe(354);
  const end = await c.command(`${msg.toString('latin1')}.`);
  return { mail, end };
}

describe('authentication through an SMTP session', () => {
  it('a forged From whose domain publishes p=reject gets 550 at DATA, and nothing is stored', async () => {
    const t = await start();
    const { mail, end } = await send(await t.client(), 'mallory@example.net', message('ceo@example.net'));
    expect(mail.code).toBe(250);
    expect(end.code).toBe(550);
    expect(end.text).toContain('5.7.1 DMARC policy of example.net rejects this message');
    expect(await t.spooled()).toEqual([]);
  });

  it('an authenticated message is stored with our Authentication-Results, the forged one claiming our id removed', async () => {
    const t = await start();
    const forged = 'Authentication-Results: mx.test; dmarc=pass header.from=example.com\r\n';
    const msg = await signed(message('alice@example.com', 'hello\r\n', forged), 'example.com', z.privateKey);
    const { end } = await send(await t.client(), 'alice@example.com', msg);
    expect(end.code).toBe(250);
    const [stored] = await t.spooled();
    const ar = stored!.message.split('\r\n').filter((l) => /^Authentication-Results:/i.test(l));
    expect(ar).toEqual(['Authentication-Results: mx.test;']);
    expect(stored!.message).toMatch(/\tdkim=pass header\.i=@example\.com header\.s=sel [^\r]*;\r\n\tspf=pass [^\r]*smtp\.mailfrom=alice@example\.com[^\r]*;\r\n\tspf=pass smtp\.helo=client\.example\.com;\r\n\tarc=none;\r\n\tdmarc=pass [^\r]*header\.from=example\.com[^\r]*\r\n/);
    expect(stored!.message).toContain('Received-SPF: pass');
    expect(stored!.message).not.toContain('X-SPF-Warning');
  });

  it('a message large enough to be spooled is checked from disk and stored whole, our header on top', async () => {
    const t = await start(DATA, undefined, { maxMessageSize: 1_000_000, messageInMemoryLimit: 16 * 1024 });
    // Past the in-memory limit (docs/server.md, "Messages on disk"): DKIM reads the spool file as a stream.
    const body = Array.from({ length: 4000 }, (_, i) => `line ${i} ${'y'.repeat(60)}\r\n`).join('');
    const msg = await signed(message('alice@example.com', body), 'example.com', z.privateKey);
    expect(msg.length).toBeGreaterThan(200 * 1024);
    const { end } = await send(await t.client(), 'alice@example.com', msg);
    expect(end.code).toBe(250);
    const [stored] = await t.spooled();
    expect(stored!.message.split('\r\n').filter((l) => /^Authentication-Results:/i.test(l))).toEqual(['Authentication-Results: mx.test;']);
    expect(stored!.message).toMatch(/\r\n\tdkim=pass header\.i=@example\.com/);
    expect(stored!.message.endsWith(body)).toBe(true);
  });

  it('an SPF softfail is tagged at MAIL FROM with the SPF macros of the same check', async () => {
    const t = await start();
    const { end } = await send(await t.client(), 'alice@example.org', message('alice@example.org'));
    expect(end.code).toBe(250);
    const [stored] = await t.spooled();
    expect(stored!.message).toContain('X-SPF-Warning: softfail for example.org checked by mx.test\r\n');
    expect(stored!.message).toContain('spf=softfail');
    expect(stored!.message).toContain('dmarc=none');
  });

  it('a failing DKIM signature is quarantined into Junk', async () => {
    const t = await start();
    const good = await signed(message('alice@example.com'), 'example.com', z.privateKey);
    const tampered = Buffer.from(good.toString('latin1').replace('Subject: test', 'Subject: you won'), 'latin1');
    const { end } = await send(await t.client(), 'alice@example.com', tampered);
    // SPF passes and is aligned, so DMARC passes: only the DKIM rule applies.
    expect(end.code).toBe(250);
    expect(await t.spooled()).toEqual([]);
    const [junk] = await t.spooled('.Junk');
    expect(junk!.message).toContain('dkim=fail');
    expect(junk!.message).toContain('dmarc=pass');
  });

  it('a standard Sieve script reads our header at DATA (the data scripts run after it is added)', async () => {
    const t = await start('require "fileinto";\nif header :matches "Authentication-Results" "mx.test;*dmarc=fail*" { fileinto "Junk"; }');
    const forged = 'Authentication-Results: other.test; dmarc=pass\r\n';
    expect((await send(await t.client(), 'x@example.org', message('ceo@example.net', 'hi\r\n', forged))).end.code).toBe(250);
    expect((await send(await t.client(), 'alice@example.com', message('alice@example.com'))).end.code).toBe(250);
    const junk = await t.spooled('.Junk');
    const inbox = await t.spooled();
    expect(junk).toHaveLength(1);
    expect(junk[0]!.message).toContain('From: <ceo@example.net>');
    expect(junk[0]!.message).toContain('Authentication-Results: other.test; dmarc=pass');
    expect(inbox).toHaveLength(1);
    expect(inbox[0]!.message).toContain('From: <alice@example.com>');
  });

  it("the transaction's info line carries the verdicts", async () => {
    const { logger, lines } = capturingLogger();
    const t = await start(DATA, logger);
    await send(await t.client(), 'mallory@example.net', message('ceo@example.net'));
    const tx = lines.find((l) => l.event === 'transaction');
    expect(tx).toMatchObject({ outcome: 'refused', spf: 'fail', dkim: 'none', arc: 'none', dmarc: 'fail' });
  });
});
