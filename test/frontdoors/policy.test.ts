/**
 * The Postfix policy service over real sockets on 127.0.0.1, asked the way
 * Postfix asks: one request per restriction evaluation, connections
 * reused, one transaction per `instance`.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/cbv/cache.js';
import { parseConfigText } from '../../src/config/load.js';
import { RecipientVerifier } from '../../src/delivery/call-ahead.js';
import { PolicyRequestReader, PolicyProtocolError } from '../../src/frontdoors/policy/policy-codec.js';
import type { TcpFront } from '../../src/frontdoors/tcp-front.js';
import { RecipientVerification } from '../../src/session/recipient-verification.js';
import { PolicyClient, rcptRequests } from '../helpers/policy-client.js';
import { startSmtpRemote } from '../helpers/smtp-remote.js';
import { type Bindings, capturingLogger, services, sievePolicy, startPolicy } from './fixture.js';
import fc from 'fast-check';

const fronts: TcpFront[] = [];
const clients: PolicyClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const f of fronts.splice(0)) await f.close(0);
});

async function policy(bindings: Bindings, s = services()) {
  const p = await startPolicy(sievePolicy(bindings), s);
  fronts.push(p.front);
  const open = async () => {
    const c = await PolicyClient.open(p.port);
    clients.push(c);
    return c;
  };
  return { ...p, open };
}

async function askAll(c: PolicyClient, requests: Array<Record<string, string>>): Promise<string[]> {
  const out: string[] = [];
  for (const r of requests) out.push(await c.ask(r));
  return out;
}

describe('requests become one session', () => {
  it('no decision is DUNNO', async () => {
    const { open } = await policy({});
    expect(await askAll(await open(), rcptRequests({ from: 'a@b.test', to: ['c@d.test'], instance: '1.1' }))).toEqual(['DUNNO']);
  });

  it('a sender refusal answers every recipient of the transaction, and the mailfrom script runs once', async () => {
    const s = services();
    const { open } = await policy({ mailfrom: 'require ["envelope", "reject"]; ec_inc_counter "mailfrom_runs" 1; if envelope :domain :is "from" "spam.test" { reject "no mail from spam.test"; }' }, s);
    const c = await open();
    const actions = await askAll(c, rcptRequests({ from: 'x@spam.test', to: ['a@d.test', 'b@d.test'], instance: '7.1' }));
    expect(actions).toEqual(['550 5.7.1 no mail from spam.test', '550 5.7.1 no mail from spam.test']);
    expect(s.counters.get('mailfrom_runs')).toBe(1);
  });

  it('multi-recipient transactions keep their message context; a new instance is a new transaction', async () => {
    const { open } = await policy({
      rcptto: 'require "envelope"; if envelope :localpart :is "to" "nobody" { ec_action 550 "5.1.1 no such user"; } elsif vctx_mess :is "message_rcpt_count" "1" { ec_action 452 "4.5.3 one recipient per message (%{vctx_conn:connection_rcpt_count} so far)"; }',
    });
    const c = await open();
    expect(await askAll(c, rcptRequests({ from: 'a@b.test', to: ['nobody@d.test', 'one@d.test', 'two@d.test'], instance: '9.1' }))).toEqual([
      '550 5.1.1 no such user',
      'DUNNO',
      '452 4.5.3 one recipient per message (1 so far)',
    ]);
    // The same recipient asked again (the service in two restriction lists): the same answer, no second run.
    expect(await c.ask(rcptRequests({ from: 'a@b.test', to: ['two@d.test'], instance: '9.1' })[0]!)).toBe('452 4.5.3 one recipient per message (1 so far)');
    // Next message on the same SMTP connection.
    expect(await askAll(c, rcptRequests({ from: 'a@b.test', to: ['three@d.test'], instance: '9.2' }))).toEqual(['DUNNO']);
  });

  it('a session survives Postfix reconnecting; another client is another session', async () => {
    const { open, delegation } = await policy({ rcptto: 'if vctx_conn :is "connection_rcpt_count" "1" { ec_action 451 "4.7.1 slow down"; }' });
    expect(await askAll(await open(), rcptRequests({ from: 'a@b.test', to: ['x@d.test'], instance: '3.1' }))).toEqual(['DUNNO']);
    expect(await askAll(await open(), rcptRequests({ from: 'a@b.test', to: ['y@d.test'], instance: '3.2' }))).toEqual(['451 4.7.1 slow down']);
    expect(await askAll(await open(), rcptRequests({ port: 40001, from: 'a@b.test', to: ['y@d.test'], instance: '4.1' }))).toEqual(['DUNNO']);
    expect(delegation.sessionCount).toBe(2);
  });

  it('attributes fill the connection context: sasl_username authenticates, encryption_protocol is TLS, all are postfix_<name>', async () => {
    const { open } = await policy({ mailfrom: 'if allof (vctx_conn :is "auth_user" "alice", vctx_conn :is "tls" "true") { ec_action 451 "4.7.0 %{vctx_conn:postfix_ccert_subject} via %{vctx_conn:ehlo_domain}"; }' });
    const c = await open();
    const [r] = rcptRequests({ from: 'a@b.test', to: ['c@d.test'], instance: '5.1', helo: 'laptop.test', extra: { sasl_username: 'alice', encryption_protocol: 'TLSv1.3', ccert_subject: 'CN=alice' } });
    expect(await c.ask(r!)).toBe('451 4.7.0 CN=alice via laptop.test');
  });

  it('HELO and CONNECT states answer those phases', async () => {
    const { open } = await policy({ ehlo: 'if vctx_conn :is "ehlo_domain" "localhost" { ec_action 550 "5.7.1 not you"; }' });
    const c = await open();
    expect(await c.ask({ protocol_state: 'CONNECT', client_address: '192.0.2.3', client_port: '5' })).toBe('DUNNO');
    expect(await c.ask({ protocol_state: 'EHLO', client_address: '192.0.2.3', client_port: '5', helo_name: 'localhost' })).toBe('550 5.7.1 not you');
    expect(await c.ask({ protocol_state: 'RCPT', client_address: '192.0.2.3', client_port: '5', helo_name: 'localhost', sender: 'a@b.test', recipient: 'c@d.test', instance: '1' })).toBe('550 5.7.1 not you');
    expect(await c.ask({ protocol_state: 'VRFY', client_address: '192.0.2.4', client_port: '5' })).toBe('DUNNO');
  });
});

describe('Sieve results as access(5) actions', () => {
  const first = async (bindings: Bindings, to = ['c@d.test'], extraStates: string[] = []) => {
    const { open } = await policy(bindings);
    const c = await open();
    const reqs = rcptRequests({ from: 'a@b.test', to, instance: '2.1' });
    const out = await askAll(c, reqs);
    for (const state of extraStates) out.push(await c.ask({ ...reqs[0]!, protocol_state: state }));
    return out;
  };

  it('discard is DISCARD, fileinto is HOLD, redirect is REDIRECT (BCC with :copy)', async () => {
    expect(await first({ rcptto: 'discard;' })).toEqual(['DISCARD smtp-cbv policy discard']);
    expect(await first({ mailfrom: 'require "fileinto"; fileinto "Quarantine";' })).toEqual(['HOLD smtp-cbv fileinto Quarantine']);
    expect(await first({ rcptto: 'redirect "x@elsewhere.test";' })).toEqual(['REDIRECT x@elsewhere.test']);
    expect(await first({ rcptto: 'require "copy"; redirect :copy "x@elsewhere.test";' })).toEqual(['BCC x@elsewhere.test']);
  });

  it('a header add is PREPEND; actions one reply cannot carry come in the next ones', async () => {
    expect(await first({ rcptto: 'ec_header_add "X-Policy" "seen %{vctx_mess:rcptto_localpart}";' }, ['c@d.test', 'e@d.test'], ['END-OF-MESSAGE'])).toEqual([
      'PREPEND X-Policy: seen c',
      'PREPEND X-Policy: seen e',
      'DUNNO',
    ]);
    expect(await first({ mailfrom: 'require "fileinto"; fileinto "Junk"; ec_header_add "X-Spam" "yes";' }, ['c@d.test'], ['DATA', 'END-OF-MESSAGE'])).toEqual([
      'HOLD smtp-cbv fileinto Junk',
      'PREPEND X-Spam: yes',
      'DUNNO',
    ]);
  });

  it('ec_set_routing_gateway has no effect: Postfix delivers by its own routing (docs/sieve-reference.md)', async () => {
    expect(await first({ rcptto: 'ec_set_routing_gateway "relay.test:2525";' }, ['c@d.test', 'e@d.test'], ['END-OF-MESSAGE'])).toEqual(['DUNNO', 'DUNNO', 'DUNNO']);
  });

  it('a PREPEND value is RFC 2047-encoded when it is not ASCII, and stays one line however long (RFC 5322 2.2.3 unfolding)', async () => {
    const [accented] = await first({ rcptto: 'ec_header_add "X-Note" "réservé";' });
    expect(accented).toMatch(/^PREPEND X-Note: =\?UTF-8\?Q\?r=C3=A9serv=C3=A9\?=$/i);
    const long = 'word '.repeat(40).trim();
    expect(await first({ rcptto: `ec_header_add "X-Long" "${long}";` })).toEqual([`PREPEND X-Long: ${long}`]);
  });
});

describe('failure modes', () => {
  it('a malformed request closes that connection with a log line; the service goes on', async () => {
    const { logger, lines } = capturingLogger();
    const { open } = await policy({}, services({ logger }));
    const bad = await open();
    bad.socket.write('this line has no equals sign\n\n');
    await expect(bad.action()).rejects.toThrow('connection closed');
    expect(lines.some((l) => l.event === 'policy.malformed')).toBe(true);
    expect(await askAll(await open(), rcptRequests({ from: 'a@b.test', to: ['c@d.test'], instance: '1' }))).toEqual(['DUNNO']);
  });

  it('the reader bounds lines, attributes and requests', () => {
    const reader = () => new PolicyRequestReader({ maxLine: 100, maxAttributes: 3, maxRequest: 250 });
    expect(() => reader().push(Buffer.from(`a=${'x'.repeat(200)}`))).toThrow(PolicyProtocolError);
    expect(() => reader().push(Buffer.from('a=1\nb=2\nc=3\nd=4\n'))).toThrow(PolicyProtocolError);
    expect(() => reader().push(Buffer.from(`a=${'x'.repeat(90)}\nb=${'x'.repeat(90)}\nc=${'x'.repeat(90)}\n`))).toThrow(PolicyProtocolError);
    expect(reader().push(Buffer.from('a=1\nA=2\n\n\nb=x=y\n\n'))).toEqual([new Map([['a', '2']]), new Map([['b', 'x=y']])]);
  });

  it('property: any byte stream gives requests or a clean error, holding at most one line', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), (chunks) => {
        const r = new PolicyRequestReader({ maxLine: 200, maxAttributes: 8, maxRequest: 1000 });
        try {
          for (const c of chunks) {
            for (const req of r.push(Buffer.from(c))) expect(req.size).toBeLessThanOrEqual(8);
            expect(r.pending).toBeLessThanOrEqual(200);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(PolicyProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('recipient call-ahead beside Postfix', () => {
  it('asks the route, not a gateway the script chose: Postfix routes the mail itself', async () => {
    const route = await startSmtpRemote({ rcpt: (a) => (a.startsWith('alice') ? { code: 550, message: '5.1.1 unknown at the route' } : undefined) });
    const chosen = await startSmtpRemote({});
    try {
      const { config } = parseConfigText(`Gateway = "127.0.0.1:${route.port}"\nTLS = no\nRecipient_Verify = true\n`, 'test.conf');
      const logger = pino({ level: 'silent' });
      const s = services({ recipients: new RecipientVerification(new RecipientVerifier(config!, { store: new MemoryStore(100) }, logger), logger) });
      const { open } = await policy({ rcptto: `ec_set_routing_gateway "127.0.0.1:${chosen.port}";` }, s);
      expect(await askAll(await open(), rcptRequests({ from: 'a@b.test', to: ['alice@d.test'], instance: '5.1' }))).toEqual([expect.stringMatching(/^550 5\.1\.1 .*unknown at the route/)]);
      expect(route.log).toEqual(['MAIL <>', 'RCPT <alice@d.test>']);
      expect(chosen.connections).toBe(0);
    } finally {
      await route.close();
      await chosen.close();
    }
  });
});
