/**
 * End to end: the example configuration's policy (examples/smtp-cbv.conf,
 * examples/policy/) in the real server, verifying senders by callback
 * against a scripted MX on 127.0.0.1 found through a DNS server on 127.0.0.1.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { assemble } from '../../src/server/assemble.js';
import { createServices } from '../../src/server/services.js';
import { oneMx } from '../helpers/cbv-fixture.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { sendMail, startTestServer, type TestServer } from '../helpers/server-fixture.js';
import { type SmtpRemote, startSmtpRemote } from '../helpers/smtp-remote.js';

let remote: SmtpRemote;
let dns: TestDnsServer;
const servers: TestServer[] = [];

beforeAll(async () => {
  // The sender domain's MX: knows alice, refuses ghost, greylists grey.
  remote = await startSmtpRemote({
    rcpt: (address) =>
      address.startsWith('ghost@') ? { code: 550, message: '5.1.1 no such user' } : address.startsWith('grey@') ? { code: 450, message: '4.7.1 greylisted' } : undefined,
  });
  dns = await startDnsServer(oneMx('sender.test'));
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await remote.close();
  await dns.close();
});

async function exampleServer(context: Record<string, string> = {}) {
  const { config, diagnostics } = await loadConfig(join(import.meta.dirname, '../../examples/smtp-cbv.conf'));
  if (!config?.smtpCbv) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  config.smtpCbv = { ...config.smtpCbv, dnsServers: [dns.address], port: remote.port, allowTargets: ['127.0.0.0/8'], helo: 'probe.test', timeoutMs: 5000 };
  const logger = pino({ level: 'silent' });
  const { assembled } = await assemble(config);
  if (!assembled) throw new Error('the example policy does not compile');
  // The configuration's CBV service and DNS; the fixture's own store.
  const { cbv, functionServices, dnsLookup } = createServices(config, logger, new MaildirSpool('/nonexistent'));
  const t = await startTestServer(assembled.policy, {
    listeners: [{ host: '127.0.0.1', port: 0, contextFor: (ip) => ({ ...assembled.listeners[0]!.contextFor!(ip), ...context }) }],
    services: { cbv, functionServices, dnsLookup },
  });
  servers.push(t);
  return t;
}

describe('the example policy', () => {
  it('accepts and spools mail from a verified sender', async () => {
    const t = await exampleServer();
    const r = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test']);
    expect(r.end?.code).toBe(250);
    const [m] = await t.spooled();
    expect(m!.envelope).toMatchObject({ mailFrom: 'alice@sender.test', verdicts: { smtp_cbv_result: 'pass' } });
  });

  it("answers 550 at RCPT TO when the sender's MX refuses the address", async () => {
    const t = await exampleServer();
    const r = await sendMail(await t.client(), 'ghost@sender.test', ['bob@here.test']);
    expect(r.mail.code).toBe(250);
    expect(r.rcpts[0]!.text).toBe('550 5.7.1 Sender address rejected: verification failed (rejected)');
  });

  it('answers 451 when the verification is greylisted, and accepts it when the peer context says so', async () => {
    const t = await exampleServer();
    const r = await sendMail(await t.client(), 'grey@sender.test', ['bob@here.test']);
    expect(r.rcpts[0]!.text).toBe('451 4.7.1 Sender address not yet verified (tempfail), try again later');
    const lenient = await exampleServer({ cbv_transient: 'accept' });
    expect((await sendMail(await lenient.client(), 'grey@sender.test', ['bob@here.test'])).end?.code).toBe(250);
  });

  it('accepts the null sender without a probe, and refuses .invalid senders at MAIL FROM', async () => {
    const t = await exampleServer();
    const before = remote.connections;
    expect((await sendMail(await t.client(), '', ['postmaster@here.test'])).end?.code).toBe(250);
    expect(remote.connections).toBe(before);
    expect((await sendMail(await t.client(), 'x@host.invalid', ['bob@here.test'])).mail.text).toBe('550 5.7.1 sender domain cannot receive mail');
  });

  it('refuses at DATA a message without From or Date', async () => {
    const t = await exampleServer();
    const r = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test'], 'Subject: no origin\r\n\r\nbody\r\n');
    expect(r.end?.text).toMatch(/^550 5\.7\.1 message lacks a From or Date header field/);
  });
});
