/**
 * An SMTP front door on 127.0.0.1 and a free port, over the session
 * machine, with a spool in a temporary directory, for server tests; plus
 * readers for what was spooled.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { LocalStore } from '../../src/delivery/local-store.js';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { SmtpFront, type SmtpFrontOptions } from '../../src/frontdoors/smtp/smtp-front.js';
import type { Policy } from '../../src/session/policy.js';
import type { SessionServices } from '../../src/session/session.js';
import { RawSmtpClient } from './smtp-client.js';

export interface TestServer {
  server: SmtpFront;
  services: SessionServices;
  port: number;
  dir: string;
  spool: MaildirSpool;
  /** Replaces the policy, as a reload does. */
  setPolicy(policy: Policy): void;
  client(): Promise<RawSmtpClient>;
  /** Messages in a folder ('' is INBOX; '.Lists' a Maildir++ folder), with their envelopes. */
  spooled(folder?: string): Promise<Array<{ message: string; envelope: Record<string, unknown> & { recipients: string[] } }>>;
  close(): Promise<void>;
}

export interface TestServerOptions extends Partial<SmtpFrontOptions> {
  services?: Partial<SessionServices>;
}

export async function startTestServer(policy: Policy, overrides: TestServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-server-'));
  const spool = new MaildirSpool(join(dir, 'spool'));
  await spool.init();
  const logger = pino({ level: 'silent' });
  const services: SessionServices = { logger, counters: new Map(), functionServices: {}, store: new LocalStore(spool), maxTarpitMs: 200, ...overrides.services };
  let current = policy;
  const { services: _s, ...front } = overrides;
  const server = new SmtpFront(
    {
      listeners: [{ host: '127.0.0.1', port: 0, contextFor: () => ({ __bypass_smtp_cbv: 'false' }) }],
      logger,
      hostname: 'mx.test',
      maxMessageSize: 10_000,
      maxConnectionsPerIp: 20,
      socketTimeoutMs: 10_000,
      ...front,
    },
    { policy: () => current, services },
  );
  const [bound] = await server.start();
  const clients: RawSmtpClient[] = [];
  return {
    server,
    services,
    port: bound!.port,
    dir,
    spool,
    setPolicy: (p) => (current = p),
    async client() {
      const c = await RawSmtpClient.open(bound!.port);
      clients.push(c);
      return c;
    },
    async spooled(folder = '') {
      const names = await readdir(join(dir, 'spool', folder, 'new')).catch(() => [] as string[]);
      const envelopes = await spool.envelopes();
      return Promise.all(
        names.map(async (n) => ({
          message: await readFile(join(dir, 'spool', folder, 'new', n), 'utf8'),
          envelope: envelopes.get(n) as unknown as Record<string, unknown> & { recipients: string[] },
        })),
      );
    },
    async close() {
      for (const c of clients) c.close();
      await server.close(0);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Greets, sends one message (or stops at the first refusal) and returns every reply. */
export async function sendMail(c: RawSmtpClient, from: string, to: string[], body = 'From: a@b.test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: t\r\n\r\nhello\r\n') {
  const greeting = await c.reply();
  const ehlo = await c.command('EHLO client.test');
  const mail = await c.command(`MAIL FROM:<${from}>`);
  const rcpts = [];
  if (mail.code === 250) for (const t of to) rcpts.push(await c.command(`RCPT TO:<${t}>`));
  let data;
  let end;
  if (rcpts.some((r) => r.code === 250)) {
    data = await c.command('DATA');
    if (data.code === 354) end = await c.command(`${body}.`);
  }
  return { greeting, ehlo, mail, rcpts, data, end };
}

/** A new session of `server` up to its DATA's 354, from heavy@sender.test to bob@here.test: the message is sent next. */
export async function openData(server: TestServer): Promise<RawSmtpClient> {
  const c = await server.client();
  await c.reply();
  await c.command('EHLO heavy.test');
  const replies = [await c.command('MAIL FROM:<heavy@sender.test>'), await c.command('RCPT TO:<bob@here.test>'), await c.command('DATA')];
  if (replies.map((r) => r.code).join() !== '250,250,354') throw new Error(`no DATA: ${replies.map((r) => r.text).join(' / ')}`);
  return c;
}
