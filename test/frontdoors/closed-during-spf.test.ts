/**
 * A client that hangs up while SPF is still asking a slow DNS server: the
 * MAIL FROM phase must not run its scripts, nor start a CBV probe, for a
 * connection that is gone (docs/authentication.md: SPF runs before the
 * mailfrom scripts). Real sockets, a real DNS server on 127.0.0.1 that
 * answers only when the test lets it: after the server has seen the close.
 * No step waits a fixed time.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthResolve } from '../../src/auth/dns.js';
import { SmtpFront } from '../../src/frontdoors/smtp/smtp-front.js';
import { StubVerifier } from '../../src/runner/stubs.js';
import { emptyDecision } from '../../src/session/decide.js';
import { MessageAuthentication } from '../../src/session/message-authentication.js';
import type { Phase } from '../../src/session/phases.js';
import type { Policy } from '../../src/session/policy.js';
import { SenderVerification } from '../../src/session/sender-verification.js';
import type { ConnectionState, Transaction } from '../../src/session/state.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';

let dns: TestDnsServer;
let release: () => void = () => undefined;
beforeAll(async () => {
  dns = await startDnsServer({ 'slow.example': { TXT: ['v=spf1 ip4:127.0.0.1 -all'], hold: new Promise<void>((r) => (release = r)) } });
});
afterAll(() => dns.close());

/** SPF that says when it has finished, so the test waits for that and nothing else. */
class ObservedAuthentication extends MessageAuthentication {
  finished: Array<() => void> = [];
  override async mailFrom(connection: ConnectionState, tx: Transaction): Promise<void> {
    await super.mailFrom(connection, tx);
    for (const f of this.finished.splice(0)) f();
  }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}

describe('a client gone during a slow SPF check', () => {
  it('gets no mailfrom scripts run and no CBV probe for its transaction', async () => {
    const logger = pino({ level: 'silent' });
    const ran: Phase[] = [];
    const policy: Policy = { waitsForVerdict: () => false, run: async ({ phase }) => (ran.push(phase), { decision: emptyDecision(), failed: false }) };
    const verifier = new StubVerifier({ default: { status: 'pass' } });
    let closes = 0;
    const auth = new ObservedAuthentication(
      { spf: { contextVariable: 'spf_status', receivedSpf: false, authResults: true, helo: false }, dkim: null, dmarc: false, authservId: null, timeoutMs: 10_000 },
      createAuthResolve({ servers: [dns.address], timeoutMs: 5000, tries: 1, cache: false }),
      logger,
    );
    const front = new SmtpFront(
      { listeners: [{ host: '127.0.0.1', port: 0 }], hostname: 'mx.test', maxMessageSize: 1 << 20, maxConnectionsPerIp: 100, socketTimeoutMs: 30_000, logger },
      {
        policy: () => policy,
        services: { logger, counters: new Map(), functionServices: {}, store: { store: async () => [] }, maxTarpitMs: 0, authentication: auth,
          observer: { connection: (event) => void (event === 'close' && closes++) }, cbv: new SenderVerification(verifier, { enabled: true, phase: 'mailfrom', deadlineMs: 10_000 }, logger) },
      },
    );
    const [at] = await front.start();
    try {
      const client = await RawSmtpClient.open(at!.port);
      await client.reply();
      await client.command('EHLO client.example');
      const finished = new Promise<void>((r) => auth.finished.push(r));
      client.write('MAIL FROM:<alice@slow.example>\r\n');
      await until(() => dns.queries.includes('TXT slow.example'));
      client.close();
      await until(() => closes === 1);
      release();
      await finished;
      // The session's continuation after SPF runs in the next turns of the event loop.
      await new Promise((r) => setImmediate(r));
      expect(ran).toEqual(['connect', 'ehlo']);
      expect(verifier.calls).toEqual([]);

      // The same slow SPF for a client that stays: the scripts run and the probe starts.
      const stays = await RawSmtpClient.open(at!.port);
      await stays.reply();
      await stays.command('EHLO client.example');
      expect((await stays.command('MAIL FROM:<alice@slow.example>')).code).toBe(250);
      expect(ran).toEqual(['connect', 'ehlo', 'connect', 'ehlo', 'mailfrom']);
      expect(verifier.calls.map((c) => c.address)).toEqual(['alice@slow.example']);
      stays.close();
    } finally {
      await front.close(0);
    }
  });
});
