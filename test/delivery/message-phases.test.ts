/**
 * Momentum's each_rcpt phase served with routing (docs/server.md,
 * "Phases"): a recipient it refuses among others is reported to the
 * sender in an RFC 3464 DSN that goes out through the delivery queue to a
 * real next hop on loopback, while the message goes on to the others;
 * none to the null sender, none when
 * generate_bounces_for_multi_recipient_policy_rejections is false.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDsn } from '../helpers/dsn-parse.js';
import { receivedBy, type RelayServer, startRelayServer } from '../helpers/relay-server.js';

const EACH_RCPT = `require ["envelope", "reject"];
if envelope :localpart :is "to" "refused" { reject "no mail for this one"; }
if envelope :localpart :is "to" "later" { ec_action 451 "4.2.1 mailbox busy"; }
`;

/** Long enough for a DSN queued with the message to have left too, when one was. */
const settle = () => new Promise((r) => setTimeout(r, 400));
const dsnsTo = (relay: RelayServer, sender: string) => receivedBy(relay.gateway, sender).filter((m) => m.from === '');

describe('each_rcpt refusals, with routing', () => {
  let relay: RelayServer;
  beforeAll(async () => {
    relay = await startRelayServer({ each_rcpt_phase1: EACH_RCPT });
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('refusing one of two recipients accepts the message for the other and queues a DSN to the sender for the refused one', async () => {
    const r = await relay.send('alice@sender.test', ['bob@here.test', 'refused@here.test'], 'From: alice@sender.test\r\nSubject: quarterly\r\nMessage-ID: <q1@sender.test>\r\n\r\nnumbers\r\n');
    expect(r.rcpts.map((x) => x.code)).toEqual([250, 250]);
    expect(r.end?.code).toBe(250);
    const [kept] = await relay.arrived(relay.gateway, 'bob@here.test');
    expect(kept!.to).toEqual(['bob@here.test']);
    const [dsn] = await relay.arrived(relay.gateway, 'alice@sender.test');
    expect(dsn!.from).toBe(''); // RFC 5321 4.5.5: from the null sender
    expect(dsn!.to).toEqual(['alice@sender.test']);
    const report = parseDsn(dsn!.data);
    expect(report.reportType).toBe('delivery-status');
    expect(report.headers.get('auto-submitted')).toBe('auto-replied');
    expect(report.perMessage.get('reporting-mta')).toBe('dns; relay.test');
    expect(report.recipients).toHaveLength(1);
    const one = report.recipients[0]!;
    expect(one.get('final-recipient')).toBe('rfc822; refused@here.test');
    expect(one.get('action')).toBe('failed');
    expect(one.get('status')).toBe('5.7.1');
    expect(one.get('diagnostic-code')).toBe('smtp; 550 5.7.1 no mail for this one');
    // The original's header section comes back (RFC 6522 text/rfc822-headers).
    expect(report.parts.find((p) => p.type === 'text/rfc822-headers')?.body).toContain('Message-ID: <q1@sender.test>');
    expect(receivedBy(relay.gateway, 'refused@here.test')).toHaveLength(0);
  });

  it('a 4xx for one recipient of several cannot be given at the dot: the DSN reports it failed, with the reply\'s status', async () => {
    const r = await relay.send('carol@sender.test', ['dan@here.test', 'later@here.test'], 'From: carol@sender.test\r\nSubject: s\r\n\r\nb\r\n');
    expect(r.end?.code).toBe(250);
    const [dsn] = await relay.arrived(relay.gateway, 'carol@sender.test');
    const one = parseDsn(dsn!.data).recipients[0]!;
    expect(one.get('final-recipient')).toBe('rfc822; later@here.test');
    expect(one.get('action')).toBe('failed');
    expect(one.get('status')).toBe('4.2.1');
  });

  it('refusing every recipient refuses the message at the dot and sends no DSN', async () => {
    const r = await relay.send('erin@sender.test', ['refused@here.test'], 'From: erin@sender.test\r\nSubject: s\r\n\r\nb\r\n');
    expect(r.end?.text).toBe('550 5.7.1 no mail for this one');
    await settle();
    expect(dsnsTo(relay, 'erin@sender.test')).toHaveLength(0);
  });

  it('sends the null sender no DSN', async () => {
    const before = relay.gateway.messages.length;
    const r = await relay.send('', ['frank@here.test', 'refused@here.test'], 'From: mailer@sender.test\r\nSubject: s\r\n\r\nb\r\n');
    expect(r.end?.code).toBe(250);
    await relay.arrived(relay.gateway, 'frank@here.test');
    await settle();
    // The message to the accepted recipient, and nothing else.
    expect(relay.gateway.messages.slice(before).map((m) => m.to)).toEqual([['frank@here.test']]);
  });
});

describe('generate_bounces_for_multi_recipient_policy_rejections = false', () => {
  let relay: RelayServer;
  beforeAll(async () => {
    relay = await startRelayServer({ each_rcpt_phase1: EACH_RCPT }, ['generate_bounces_for_multi_recipient_policy_rejections = false']);
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('accepts the message for the others and sends no DSN', async () => {
    const r = await relay.send('gina@sender.test', ['hal@here.test', 'refused@here.test'], 'From: gina@sender.test\r\nSubject: s\r\n\r\nb\r\n');
    expect(r.end?.code).toBe(250);
    await relay.arrived(relay.gateway, 'hal@here.test');
    await settle();
    expect(dsnsTo(relay, 'gina@sender.test')).toHaveLength(0);
  });
});
