/**
 * The SMTP server over real sockets on 127.0.0.1, driven by a scripted
 * policy: every phase, every kind of outcome, the spool, the limits.
 */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { type Decision, emptyDecision } from '../../src/session/decide.js';
import type { Phase } from '../../src/session/phases.js';
import type { PhaseInput, Policy } from '../../src/session/policy.js';
import { startTestServer, type TestServerOptions } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

type Script = (input: PhaseInput) => Partial<Decision> | Promise<Partial<Decision>>;

/** What a phase saw: copies of the contexts at the time. */
interface Seen {
  phase: Phase;
  recipient?: string;
  message?: Buffer;
  helo?: string;
  esmtp?: boolean;
  connection: Map<string, string>;
  messageContext: Map<string, string>;
}

async function startServer(script: Script = () => ({}), overrides: TestServerOptions = {}) {
  const seen: Seen[] = [];
  const policy: Policy = {
    waitsForVerdict: () => false,
    run: async (input) => {
      const { phase, recipient, message, connection, transaction } = input;
      seen.push({ phase, recipient, message: message?.bytes(), helo: connection.helo, esmtp: connection.esmtp, connection: new Map(connection.context), messageContext: new Map(transaction?.context) });
      return { decision: { ...emptyDecision(), ...(await script(input)) }, failed: false };
    },
  };
  const t = await startTestServer(policy, overrides);
  cleanups.push(() => t.close());
  return { ...t, seen };
}

async function greetAndSend(c: RawSmtpClient, from = 'alice@sender.test', to = ['bob@here.test'], body = 'Subject: t\r\n\r\nhello\r\n') {
  expect((await c.reply()).code).toBe(220);
  expect((await c.command('EHLO client.test')).code).toBe(250);
  const mail = await c.command(`MAIL FROM:<${from}>`);
  const rcpts = [];
  for (const t of to) rcpts.push(await c.command(`RCPT TO:<${t}>`));
  const data = await c.command('DATA');
  if (data.code !== 354) return { mail, rcpts, data, end: data };
  const end = await c.command(`${body}.`);
  return { mail, rcpts, data, end };
}

describe('accepting mail', () => {
  it('advertises the ESMTP extensions and spools an accepted message with a Received: header and envelope', async () => {
    const s = await startServer();
    const c = await s.client();
    expect((await c.reply()).text).toMatch(/^220 mx\.test ESMTP smtp-cbv/);
    const ehlo = await c.command('EHLO client.test');
    expect(ehlo.lines.slice(1).map((l) => l.slice(4))).toEqual(expect.arrayContaining(['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'SIZE 10000']));
    expect(ehlo.text).not.toContain('STARTTLS');
    await c.command('MAIL FROM:<alice@sender.test>');
    await c.command('RCPT TO:<bob@here.test>');
    await c.command('DATA');
    const end = await c.command('Subject: hi\r\n\r\nbody\r\n.');
    expect(end.code).toBe(250);
    expect(end.text).toMatch(/queued as /);
    const [m] = await s.spooled();
    expect(m!.message).toMatch(/^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test \(smtp-cbv\) with ESMTP id \S+\r\n\tfor <bob@here\.test>;\r\n\t\w{3}, \d+ \w{3} \d{4} [\d:]{8} \+0000\r\nSubject: hi\r\n\r\nbody\r\n$/);
    expect(m!.envelope).toMatchObject({ mailFrom: 'alice@sender.test', recipients: ['bob@here.test'], folder: 'INBOX', client: { address: '127.0.0.1', helo: 'client.test', tls: false } });
  });

  it('sends through a real client (nodemailer SMTPConnection) and accepts a null sender', async () => {
    const s = await startServer();
    const conn = new SMTPConnection({ host: '127.0.0.1', port: s.port, ignoreTLS: true, name: 'nm.test' });
    await new Promise<void>((resolve, reject) => conn.connect((err?: Error) => (err ? reject(err) : resolve())));
    const info = await new Promise<{ accepted: string[] }>((resolve, reject) =>
      conn.send({ from: '', to: ['one@here.test', 'two@here.test'] }, 'Subject: x\r\n\r\ny\r\n', (err, i) => (err ? reject(err) : resolve(i as never))),
    );
    conn.quit();
    expect(info.accepted).toEqual(['one@here.test', 'two@here.test']);
    const [m] = await s.spooled();
    expect(m!.envelope).toMatchObject({ mailFrom: '', recipients: ['one@here.test', 'two@here.test'] });
    expect(m!.message).not.toContain('\tfor <');
  });

  it('answers pipelined commands in order', async () => {
    const s = await startServer(({ phase, recipient }) => (phase === 'rcptto' && recipient === 'no@here.test' ? { reply: { code: 550, enhanced: '5.1.1', text: 'no such user' } } : {}));
    const c = await s.client();
    await c.reply();
    await c.command('EHLO p.test');
    c.write('MAIL FROM:<a@s.test>\r\nRCPT TO:<no@here.test>\r\nRCPT TO:<yes@here.test>\r\nDATA\r\n');
    expect([(await c.reply()).code, (await c.reply()).text, (await c.reply()).code, (await c.reply()).code]).toEqual([250, '550 5.1.1 no such user', 250, 354]);
    expect((await c.command('x\r\n.')).code).toBe(250);
    expect((await s.spooled())[0]!.envelope.recipients).toEqual(['yes@here.test']);
  });
});

describe('the policy decides each phase', () => {
  it('connect: a refusal is sent in place of the greeting and the connection closes', async () => {
    const s = await startServer(({ phase }) => (phase === 'connect' ? { reply: { code: 554, enhanced: '5.7.1', text: 'go away' } } : {}));
    const c = await s.client();
    expect((await c.reply()).text).toBe('554 5.7.1 go away');
    await c.waitClosed();
  });

  it('connect: changes to the EHLO answer\'s extension lines hold for the connection', async () => {
    const s = await startServer(({ phase }) => (phase === 'connect' ? { esmtp: [{ op: 'disable', keyword: 'size' }, { op: 'advertize', keyword: 'XFOO' }] } : {}));
    const c = await s.client();
    await c.reply();
    const lines = (await c.command('EHLO client.test')).lines.map((l) => l.slice(4));
    expect(lines).toContain('XFOO');
    expect(lines.some((l) => l.startsWith('SIZE'))).toBe(false);
    expect(lines).toContain('PIPELINING');
  });

  it('ehlo: refuses EHLO with the policy reply, and sets ehlo_domain', async () => {
    const s = await startServer(({ phase, connection }) =>
      phase === 'ehlo' && connection.helo === 'bad.test' ? { reply: { code: 550, enhanced: '5.7.1', text: 'bad helo' } } : {},
    );
    const c = await s.client();
    await c.reply();
    expect((await c.command('EHLO bad.test')).text).toBe('550 5.7.1 bad helo');
    expect((await c.command('HELO good.test')).code).toBe(250);
    expect(s.seen.at(-1)!.connection.get('ehlo_domain')).toBe('good.test');
    expect(s.seen.at(-1)!.esmtp).toBe(false);
    expect((await c.command('EHLO')).code).toBe(501); // syntax errors stay the library's
  });

  it('mailfrom: sets the message context and sends the policy reply verbatim', async () => {
    const s = await startServer(({ phase }) => (phase === 'mailfrom' ? { reply: { code: 550, enhanced: '5.7.1', text: 'sender verification failed' } } : {}));
    const c = await s.client();
    const r = await greetAndSend(c, 'Alice@Sender.test');
    expect(r.mail.text).toBe('550 5.7.1 sender verification failed');
    expect(r.rcpts[0]!.code).toBe(503); // no transaction after a refused MAIL
    const mailfrom = s.seen.find((i) => i.phase === 'mailfrom')!;
    expect(Object.fromEntries(mailfrom.messageContext)).toMatchObject({
      mailfrom_string: 'Alice@Sender.test',
      mailfrom_localpart: 'Alice',
      mailfrom_domain: 'Sender.test',
    });
    expect(Object.fromEntries(mailfrom.connection)).toMatchObject({ remote_ip: '127.0.0.1', tls: 'false', __bypass_smtp_cbv: 'false', ehlo_domain: 'client.test' });
  });

  it('keeps a multi-line reply, with the code and enhanced code on every line', async () => {
    const s = await startServer(({ phase }) => (phase === 'mailfrom' ? { reply: { code: 451, enhanced: '4.7.1', text: 'greylisted\nplease retry later' } } : {}));
    const c = await s.client();
    const r = await greetAndSend(c);
    expect(r.mail.lines).toEqual(['451-4.7.1 greylisted', '451 4.7.1 please retry later']);
  });

  it('gives each transaction a new message context and counts messages on the connection', async () => {
    const s = await startServer();
    const c = await s.client();
    await greetAndSend(c, 'a@x.test', ['r1@here.test']);
    await c.command('MAIL FROM:<b@y.test>');
    const second = s.seen.filter((i) => i.phase === 'mailfrom')[1]!;
    expect(second.messageContext.get('rcptto_string')).toBeUndefined();
    expect(second.connection.get('connection_message_count')).toBe('1');
    expect(second.connection.get('connection_rcpt_count')).toBe('1');
  });

  it('data: a refusal stores nothing', async () => {
    const s = await startServer(({ phase }) => (phase === 'data' ? { reply: { code: 550, enhanced: '5.7.1', text: 'spam' } } : {}));
    const r = await greetAndSend(await s.client());
    expect(r.end.text).toBe('550 5.7.1 spam');
    expect(await s.spooled()).toEqual([]);
  });

  it('data: the message reaches the policy; discard answers 250 and stores nothing', async () => {
    const s = await startServer(({ phase }) => (phase === 'data' ? { implicitKeep: false } : {}));
    const r = await greetAndSend(await s.client(), undefined, undefined, 'Subject: seen\r\n\r\nbody\r\n');
    expect(r.end.code).toBe(250);
    expect(s.seen.find((i) => i.phase === 'data')!.message!.toString()).toBe('Subject: seen\r\n\r\nbody\r\n');
    expect(await s.spooled()).toEqual([]);
  });

  it('data: fileinto folders get one copy each; keep and INBOX are one store; redirect rewrites the recipients', async () => {
    const s = await startServer(({ phase }) =>
      phase === 'data' ? { implicitKeep: false, folders: ['INBOX', 'inbox', 'Lists/A'], redirects: ['fwd@else.test', 'fwd@else.test'] } : {},
    );
    await greetAndSend(await s.client());
    const inbox = await s.spooled();
    expect(inbox.map((m) => m.envelope.recipients).sort()).toEqual([['bob@here.test'], ['fwd@else.test']]);
    expect(inbox.find((m) => m.envelope.redirect)!.message).toContain('for <fwd@else.test>');
    expect((await s.spooled('.Lists.A')).map((m) => m.envelope.folder)).toEqual(['Lists/A']);
  });

  it('closes the connection after a reply when the policy asks (ec_disconnect)', async () => {
    const s = await startServer(({ phase }) => (phase === 'mailfrom' ? { reply: { code: 550, enhanced: '5.7.1', text: 'bye' }, disconnect: true } : {}));
    const c = await s.client();
    await c.reply();
    await c.command('EHLO t.test');
    expect((await c.command('MAIL FROM:<a@b.test>')).text).toBe('550 5.7.1 bye');
    await c.waitClosed();
  });

  it('bounds a tarpit delay by the configured maximum', async () => {
    const s = await startServer(({ phase }) => (phase === 'mailfrom' ? { tarpitMs: 60_000 } : {}), { services: { maxTarpitMs: 100 } });
    const c = await s.client();
    await c.reply();
    await c.command('EHLO t.test');
    const started = Date.now();
    expect((await c.command('MAIL FROM:<a@b.test>')).code).toBe(250);
    // 60 s asked, 100 ms allowed: the reply comes (the test timeout would catch a 60 s wait).
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('answers 451 when the policy throws, instead of hanging', async () => {
    const s = await startServer(({ phase }) => {
      if (phase === 'mailfrom') throw new Error('boom');
      return {};
    });
    const r = await greetAndSend(await s.client());
    expect(r.mail.text).toBe('451 4.3.0 Temporary policy error, please try again later');
  });
});

describe('limits and failures', () => {
  it('refuses a message over the size limit with 552 and stores nothing', async () => {
    const s = await startServer();
    const r = await greetAndSend(await s.client(), undefined, undefined, `Subject: big\r\n\r\n${'x'.repeat(20_000)}\r\n`);
    expect(r.end.code).toBe(552);
    expect(await s.spooled()).toEqual([]);
  });

  it('refuses connections over the per-IP limit with 421', async () => {
    const s = await startServer(undefined, { maxConnectionsPerIp: 2 });
    const a = await s.client();
    const b = await s.client();
    expect((await a.reply()).code).toBe(220);
    expect((await b.reply()).code).toBe(220);
    const third = await s.client();
    expect((await third.reply()).text).toMatch(/^421 4\.7\.0 Too many connections/);
    await third.waitClosed();
    a.close();
    await new Promise((r) => setTimeout(r, 100));
    const fourth = await s.client();
    expect((await fourth.reply()).code).toBe(220);
  });

  it('answers 451 when the spool cannot be written, and leaves nothing half-written', async () => {
    const s = await startServer(({ phase }) => (phase === 'data' ? { implicitKeep: false, folders: ['INBOX', 'Broken'] } : {}));
    await writeFile(join(s.dir, 'spool', '.Broken'), 'a file where a folder should be');
    const r = await greetAndSend(await s.client());
    expect(r.end.text).toBe('451 4.3.0 Local error in processing, please try again later');
    expect(await s.spooled()).toEqual([]);
    expect(await readdir(join(s.dir, 'spool', 'tmp'))).toEqual([]);
    expect(await s.spool.envelopes()).toEqual(new Map());
  });

  it('on close, lets a session in progress finish until the deadline, then sends 421', async () => {
    const s = await startServer();
    const c = await s.client();
    await c.reply();
    await c.command('EHLO t.test');
    const closing = s.server.close(300);
    expect((await c.command('MAIL FROM:<a@b.test>')).code).toBe(250);
    await closing;
    expect((await c.reply()).text).toMatch(/^421/);
    await c.waitClosed();
    await expect(RawSmtpClient.open(s.port)).rejects.toThrow();
  });
});

describe('STARTTLS', () => {
  it('is offered when the listener has a key and certificate; the session then counts as TLS', async () => {
    const { readFile } = await import('node:fs/promises');
    const fixtures = join(import.meta.dirname, '../fixtures/tls');
    const key = await readFile(join(fixtures, 'localhost.key'));
    const cert = await readFile(join(fixtures, 'localhost.crt'));
    const s = await startServer(() => ({}), { listeners: [{ host: '127.0.0.1', port: 0, tls: { key, cert } }] });
    const conn = new SMTPConnection({ host: '127.0.0.1', port: s.port, requireTLS: true, tls: { ca: [cert], servername: 'localhost' }, name: 'tls.test' });
    await new Promise<void>((resolve, reject) => conn.connect((err?: Error) => (err ? reject(err) : resolve())));
    await new Promise((resolve, reject) => conn.send({ from: 'a@s.test', to: ['b@here.test'] }, 'Subject: tls\r\n\r\nx\r\n', (err, i) => (err ? reject(err) : resolve(i))));
    expect(conn.secure).toBe(true);
    conn.quit();
    expect(s.seen.find((i) => i.phase === 'mailfrom')!.connection.get('tls')).toBe('true');
    const [m] = await s.spooled();
    expect(m!.message).toMatch(/with ESMTPS id/);
    expect(m!.envelope).toMatchObject({ client: { tls: true } });
  });
});
