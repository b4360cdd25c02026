/**
 * SPF, DKIM, ARC and DMARC at SMTP time through mailauth and a DNS server
 * on 127.0.0.1 (test/helpers/auth-zone.ts): every result word each check
 * can give, the context variables field by field, and the header.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthResolve } from '../../src/auth/dns.js';
import { type AuthenticationOptions, MessageAuthentication } from '../../src/session/message-authentication.js';
import { bufferSource, fileSource, LineScan } from '../../src/session/message-source.js';
import { ConnectionState, Transaction } from '../../src/session/state.js';
import { arcSealed, type AuthDns, message, signed, startAuthDns } from '../helpers/auth-zone.js';

let z: AuthDns;
beforeAll(async () => {
  z = await startAuthDns();
});
afterAll(() => z.dns.close());

const ALL: AuthenticationOptions = {
  spf: { contextVariable: 'spf_status', receivedSpf: true, authResults: true, helo: true },
  dkim: { minKeyBits: 1024, arc: true },
  dmarc: true,
  authservId: null,
  timeoutMs: 5000,
};

function service(options: Partial<AuthenticationOptions> = {}, resolve = z.resolve) {
  return new MessageAuthentication({ ...ALL, ...options }, resolve, pino({ level: 'silent' }));
}

function session(mailFrom: string, helo = 'client.example.com') {
  const c = new ConnectionState({ id: 's1', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 25, tls: false, hostname: 'mx.test', banner: '' });
  c.greeted('EHLO', helo);
  return { c, tx: new Transaction(mailFrom, 's1.1') };
}

/** Runs MAIL FROM and DATA; returns the message context and the message as it leaves. */
async function run(mailFrom: string, msg: Buffer, options: Partial<AuthenticationOptions> = {}, helo?: string) {
  const auth = service(options);
  const s = session(mailFrom, helo);
  await auth.mailFrom(s.c, s.tx);
  const afterMailFrom = new Map(s.tx.context);
  const out = await auth.data(s.c, s.tx, bufferSource(msg));
  return { ctx: s.tx.context, afterMailFrom, out: out.bytes().toString('latin1') };
}

const ctxOf = (ctx: Map<string, string>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, ctx.get(k)]));

describe('SPF at MAIL FROM (RFC 7208)', () => {
  it.each([
    ['alice@example.com', 'pass', 'example.com'],
    ['alice@example.net', 'fail', 'example.net'],
    ['alice@example.org', 'softfail', 'example.org'],
    ['alice@nospf.example.com', 'none', 'nospf.example.com'],
    ['alice@broken.example.com', 'temperror', 'broken.example.com'],
  ])('%s gives %s, set before the mailfrom scripts run', async (from, result, domain) => {
    const { afterMailFrom } = await run(from, message(from));
    expect(ctxOf(afterMailFrom, ['spf_status', 'spf_domain', 'spf_helo_status', 'spf_receiver'])).toEqual({ spf_status: result, spf_domain: domain, spf_helo_status: 'pass', spf_receiver: 'mx.test' });
    expect(afterMailFrom.get('spf_reason')).toMatch(/\S/);
    // Nothing of DATA's yet.
    expect(afterMailFrom.has('dkim_status')).toBe(false);
  });

  it('checks postmaster@helo for the null sender (RFC 7208 2.4)', async () => {
    const { afterMailFrom } = await run('', message('a@example.com'));
    expect(ctxOf(afterMailFrom, ['spf_status', 'spf_domain'])).toEqual({ spf_status: 'pass', spf_domain: 'client.example.com' });
  });

  it('is temperror when the DNS server does not answer (DNS down)', async () => {
    const down = createAuthResolve({ servers: ['127.0.0.1:9'], timeoutMs: 200, tries: 1 });
    const auth = service({ timeoutMs: 3000 }, down);
    const s = session('alice@example.com');
    await auth.mailFrom(s.c, s.tx);
    expect(s.tx.context.get('spf_status')).toBe('temperror');
    expect(s.tx.context.get('spf_helo_status')).toBe('temperror');
  });

  it("writes Momentum's context_variable too, and skips the HELO check when told", async () => {
    const { afterMailFrom } = await run('alice@example.com', message('alice@example.com'), { spf: { contextVariable: 'my_spf', receivedSpf: false, authResults: true, helo: false } });
    expect(afterMailFrom.get('my_spf')).toBe('pass');
    expect(afterMailFrom.get('spf_status')).toBe('pass');
    expect(afterMailFrom.has('spf_helo_status')).toBe(false);
  });

  it('does not check an address literal HELO', async () => {
    const { afterMailFrom } = await run('alice@example.com', message('alice@example.com'), {}, '[127.0.0.1]');
    expect(afterMailFrom.has('spf_helo_status')).toBe(false);
  });
});

describe('DKIM at DATA (RFC 6376)', () => {
  it('pass: a good signature, its domain in dkim_domains', async () => {
    const { ctx } = await run('alice@example.com', await signed(message('alice@example.com'), 'example.com', z.privateKey));
    expect(ctxOf(ctx, ['dkim_status', 'dkim_domains'])).toEqual({ dkim_status: 'pass', dkim_domains: 'example.com' });
  });

  it('fail: a signed header changed after signing', async () => {
    const good = await signed(message('alice@example.com'), 'example.com', z.privateKey);
    const { ctx } = await run('alice@example.com', Buffer.from(good.toString('latin1').replace('Subject: test', 'Subject: changed'), 'latin1'));
    expect(ctxOf(ctx, ['dkim_status', 'dkim_domains'])).toEqual({ dkim_status: 'fail', dkim_domains: '' });
  });

  it('neutral: the body changed after signing (mailauth: "body hash did not verify")', async () => {
    const good = await signed(message('alice@example.com'), 'example.com', z.privateKey);
    const { ctx, out } = await run('alice@example.com', Buffer.from(good.toString('latin1').replace('hello', 'HELLO'), 'latin1'));
    expect(ctxOf(ctx, ['dkim_status', 'dkim_domains'])).toEqual({ dkim_status: 'neutral', dkim_domains: '' });
    expect(out).toContain('body hash did not verify');
  });

  it('none: no signature', async () => {
    const { ctx } = await run('alice@example.com', message('alice@example.com'));
    expect(ctxOf(ctx, ['dkim_status', 'dkim_domains'])).toEqual({ dkim_status: 'none', dkim_domains: '' });
  });

  it('temperror: the key look-up SERVFAILs', async () => {
    const { ctx } = await run('alice@example.com', await signed(message('alice@example.com'), 'broken.example.com', z.privateKey));
    expect(ctx.get('dkim_status')).toBe('temperror');
  });

  it('permerror, unchecked: a header section past 256 KiB (a From of megabytes), which mailauth parses in time that grows with its square', async () => {
    const from = `${'joe@example.com, '.repeat(20_000)}alice@example.com`;
    const big = await signed(message('alice@example.com', 'hello\r\n', `X-Pad: ${'x'.repeat(10)}\r\n`), 'example.com', z.privateKey);
    const msg = Buffer.from(big.toString('latin1').replace('From: <alice@example.com>', `From: ${from}`), 'latin1');
    const { ctx, out } = await run('alice@example.com', msg);
    expect(ctxOf(ctx, ['dkim_status', 'arc_status', 'dmarc_status'])).toEqual({ dkim_status: 'permerror', arc_status: 'permerror', dmarc_status: 'permerror' });
    expect(out).toContain('dkim=permerror (header section too large to check)');
    // A From field of 64 KiB or more in a smaller header section: the same.
    const longFrom = Buffer.from(big.toString('latin1').replace('From: <alice@example.com>', `From: ${'joe@example.com,\r\n '.repeat(3_500)}alice@example.com`), 'latin1');
    const r = await run('alice@example.com', longFrom);
    expect(r.ctx.get('dkim_status')).toBe('permerror');
    expect(r.out).toContain('dkim=permerror (From field too large to check)');
    // Just under the limit, the checks run (the signature no longer matches the From it signed).
    const under = Buffer.from(big.toString('latin1').replace('From: <alice@example.com>', `From: ${'joe@example.com,\r\n '.repeat(3_000)}alice@example.com`), 'latin1');
    expect((await run('alice@example.com', under)).ctx.get('dkim_status')).toBe('fail');
  });

  it('neutral: no key published for the selector (mailauth reports a missing key so)', async () => {
    const { ctx } = await run('alice@example.net', await signed(message('alice@example.net'), 'example.net', z.privateKey));
    expect(ctx.get('dkim_status')).toBe('neutral');
  });

  it('arc_status is none without an ARC set', async () => {
    const { ctx } = await run('alice@example.com', message('alice@example.com'));
    expect(ctx.get('arc_status')).toBe('none');
  });

  it('arc_status is pass for a forwarder\'s good ARC set (RFC 8617 5.2), fail once the message changed after it', async () => {
    const sealed = await arcSealed(message('alice@example.org'), z.privateKey);
    const good = await run('alice@example.org', sealed);
    expect(ctxOf(good.ctx, ['arc_status', 'dmarc_status'])).toEqual({ arc_status: 'pass', dmarc_status: 'none' });
    expect(good.out).toMatch(/\tarc=pass [^\r]*\r\n/);
    const changed = await run('alice@example.org', Buffer.from(sealed.toString('latin1').replace('Subject: test', 'Subject: changed'), 'latin1'));
    expect(changed.ctx.get('arc_status')).toBe('fail');
  });

  it('no ARC check when dkim_validate says arc = false', async () => {
    const { ctx, out } = await run('alice@example.com', message('alice@example.com'), { dkim: { minKeyBits: 1024, arc: false } });
    expect(ctx.has('arc_status')).toBe(false);
    expect(out).not.toMatch(/\tarc=/);
  });
});

describe('DMARC at DATA (RFC 7489)', () => {
  it('pass through aligned SPF alone', async () => {
    const { ctx } = await run('alice@example.com', message('alice@example.com'));
    expect(ctxOf(ctx, ['dmarc_status', 'dmarc_policy', 'dmarc_domain'])).toEqual({ dmarc_status: 'pass', dmarc_policy: 'reject', dmarc_domain: 'example.com' });
  });

  it('pass through an aligned DKIM signature although SPF fails', async () => {
    const { ctx } = await run('alice@example.net', await signed(message('alice@example.com'), 'example.com', z.privateKey));
    expect(ctxOf(ctx, ['spf_status', 'dkim_status', 'dmarc_status'])).toEqual({ spf_status: 'fail', dkim_status: 'pass', dmarc_status: 'pass' });
  });

  it('fail with p=reject: neither SPF nor DKIM aligned', async () => {
    const { ctx } = await run('alice@example.net', message('alice@example.net'));
    expect(ctxOf(ctx, ['dmarc_status', 'dmarc_policy', 'dmarc_domain'])).toEqual({ dmarc_status: 'fail', dmarc_policy: 'reject', dmarc_domain: 'example.net' });
  });

  it('fail: SPF passes for another domain than From (not aligned)', async () => {
    const { ctx } = await run('alice@example.com', message('mallory@example.net'));
    expect(ctxOf(ctx, ['spf_status', 'dmarc_status', 'dmarc_domain'])).toEqual({ spf_status: 'pass', dmarc_status: 'fail', dmarc_domain: 'example.net' });
  });

  it('none: the From domain publishes no policy', async () => {
    const { ctx } = await run('alice@example.org', message('alice@example.org'));
    expect(ctxOf(ctx, ['dmarc_status', 'dmarc_policy'])).toEqual({ dmarc_status: 'none', dmarc_policy: '' });
  });

  it('temperror: the policy look-up SERVFAILs', async () => {
    const { ctx } = await run('alice@example.com', message('alice@broken.example.com'));
    expect(ctx.get('dmarc_status')).toBe('temperror');
  });

  it('every check is temperror when the DNS is down', async () => {
    const down = createAuthResolve({ servers: ['127.0.0.1:9'], timeoutMs: 200, tries: 1 });
    const auth = service({ timeoutMs: 3000 }, down);
    const s = session('alice@example.com');
    await auth.mailFrom(s.c, s.tx);
    await auth.data(s.c, s.tx, bufferSource(await signed(message('alice@example.com'), 'example.com', z.privateKey)));
    expect(ctxOf(s.tx.context, ['spf_status', 'dkim_status', 'dmarc_status'])).toEqual({ spf_status: 'temperror', dkim_status: 'temperror', dmarc_status: 'temperror' });
  });
});

describe('the Authentication-Results header (RFC 8601)', () => {
  it('goes on top with every clause, Received-SPF below it, and the same text in authentication_results', async () => {
    const { ctx, out } = await run('alice@example.com', await signed(message('alice@example.com'), 'example.com', z.privateKey));
    const lines = out.split('\r\n');
    expect(lines[0]).toBe('Authentication-Results: mx.test;');
    const field = out.slice(0, out.indexOf('\r\nReceived-SPF:'));
    const clauses = field.slice(field.indexOf(';') + 1).split(';').map((c) => c.replace(/\s+/g, ' ').trim());
    expect(clauses.map((c) => c.split(' ')[0])).toEqual(['dkim=pass', 'spf=pass', 'spf=pass', 'arc=none', 'dmarc=pass']);
    expect(clauses[0]).toContain('header.i=@example.com');
    expect(clauses[0]).toContain('header.s=sel');
    expect(clauses[1]).toContain('smtp.mailfrom=alice@example.com');
    expect(clauses[2]).toBe('spf=pass smtp.helo=client.example.com');
    expect(clauses[4]).toContain('header.from=example.com');
    expect(out).toMatch(/\r\nReceived-SPF: pass \([^)]*\) client-ip=127\.0\.0\.1;\r\n/);
    expect(ctx.get('authentication_results')).toBe(`mx.test; ${clauses.join('; ')}`);
  });

  it('replaces a forged header claiming our authserv-id and keeps the others', async () => {
    const forged = 'Authentication-Results: MX.TEST; dmarc=pass header.from=example.net\r\nAuthentication-Results: (c) "mx.test"; spf=pass\r\nAuthentication-Results: other.test; dkim=pass\r\n';
    const { out } = await run('alice@example.net', message('alice@example.net', 'hello\r\n', forged), { authservId: 'mx.test' });
    const ar = out.split('\r\n').filter((l) => l.startsWith('Authentication-Results:'));
    expect(ar).toEqual(['Authentication-Results: mx.test;', 'Authentication-Results: other.test; dkim=pass']);
    expect(out).toContain('dmarc=fail');
    expect(out).not.toContain('header.from=example.net\r\n');
  });

  it('uses the configured authserv-id, and leaves the body as received', async () => {
    const msg = Buffer.concat([message('alice@example.com', ''), Buffer.from([0x63, 0xe9, 0xff, 0x0d, 0x0a])]);
    const { out } = await run('alice@example.com', msg, { authservId: 'auth.example' });
    expect(out.startsWith('Authentication-Results: auth.example;')).toBe(true);
    expect(out.endsWith('\r\n\r\nc\xe9\xff\r\n')).toBe(true);
  });

  it('a spooled message is checked from its file and only its header section changes', async () => {
    const body = 'x'.repeat(300 * 1024) + '\r\n';
    const msg = await signed(message('alice@example.com', body), 'example.com', z.privateKey);
    const dir = mkdtempSync(join(tmpdir(), 'auth-spool-'));
    try {
      const path = join(dir, 'incoming');
      writeFileSync(path, msg);
      const scan = new LineScan();
      scan.push(msg);
      const spooled = fileSource(path, { size: msg.length, bareLf: scan.bareLf, head: msg.subarray(0, scan.headEnd) });
      const auth = service({});
      const s = session('alice@example.com');
      await auth.mailFrom(s.c, s.tx);
      const out = await auth.data(s.c, s.tx, spooled);
      expect(s.tx.context.get('dkim_status')).toBe('pass');
      const inMemory = await run('alice@example.com', msg);
      const chunks: Buffer[] = [];
      for await (const c of out.chunks()) chunks.push(c);
      const streamed = Buffer.concat(chunks);
      // Same header fields as the in-memory path, the body untouched, and the sizes agree with the bytes.
      expect(streamed.toString('latin1')).toBe(inMemory.out);
      expect(streamed.subarray(streamed.length - msg.length + scan.headEnd).equals(msg.subarray(scan.headEnd))).toBe(true);
      expect(out.size).toBe(streamed.length);
      expect(out.bytes().equals(streamed)).toBe(true);
      expect(out.path).toBe(path);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with SPF alone: only SPF clauses, no DKIM or DMARC variables', async () => {
    const { ctx, out } = await run('alice@example.org', message('alice@example.org'), { dkim: null, dmarc: false });
    expect(ctx.has('dkim_status')).toBe(false);
    expect(ctx.has('dmarc_status')).toBe(false);
    expect(out.slice(0, out.indexOf('\r\nReceived-SPF'))).toMatch(/^Authentication-Results: mx\.test;\r\n\tspf=softfail .*\r\n\tspf=pass smtp\.helo=client\.example\.com$/);
  });
});
