/**
 * Sieve++ generate_mail_raw and ec_forward served (docs/delivery.md,
 * "Sieve actions that send mail"): the new messages go out through the
 * delivery queue to a real next hop on loopback, beside the message, and
 * whatever becomes of it; with Momentum's documented examples.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { originalSubject, rawMessage } from '../../src/delivery/script-mail.js';
import { sendOutgoing } from '../../src/session/outgoing-mail.js';
import { ConnectionState } from '../../src/session/state.js';
import { type RelayServer, startRelayServer } from '../helpers/relay-server.js';

const SCRIPT = `if envelope :domain :is "to" "alert.test" {
  generate_mail_raw "alerts@relay.test" ["ops@watch.test", "boss@watch.test"] text:
From: alerts@relay.test
To: ops@watch.test
Subject: alert

a message arrived
.
;
}
if envelope :domain :is "to" "forward.test" {
  ec_forward "desk@relay.test" ["abuse@watch.test", "audit@watch.test"] text:
Look at this one.
.
;
}
if envelope :domain :is "to" "named.test" {
  ec_forward "" "abuse@watch.test" "see attached" "Suspicious mail";
}
if envelope :domain :is "to" "refused.test" {
  ec_forward "desk@relay.test" "abuse@watch.test" "refused, for the record";
  ec_action 550 "5.7.1 not here";
}
`;

let relay: RelayServer;
beforeAll(async () => {
  relay = await startRelayServer(SCRIPT);
});
afterAll(async () => {
  await relay?.stop();
});

const arrived = (rcpt: string, n = 1) => relay.arrived(relay.gateway, rcpt, n);
/** The message's own Subject (its first), decoded as a reader would (RFC 2047). */
const subjectOf = (data: string) => originalSubject(Buffer.from(data, 'utf8'));
const ORIGINAL = 'From: alice@sender.test\r\nTo: bob@forward.test\r\nSubject: =?UTF-8?Q?caf=C3=A9?= order\r\n\r\nplease pay\r\n';

describe('generate_mail_raw served', () => {
  it('sends the text as the whole message to every recipient given, with a Date and Message-ID added, and the message still goes on', async () => {
    const r = await relay.send('alice@sender.test', ['bob@alert.test'], 'From: alice@sender.test\r\nSubject: hi\r\n\r\nx\r\n');
    expect(r.end?.code).toBe(250);
    const [toOps] = await arrived('ops@watch.test');
    const [toBoss] = await arrived('boss@watch.test');
    expect(toOps).toBe(toBoss); // one message, both recipients
    expect(toOps!.from).toBe('alerts@relay.test');
    expect(toOps!.data).toMatch(/^Date: .*\r\nMessage-ID: <[0-9a-f]+\.generated@relay\.test>\r\nFrom: alerts@relay\.test\r\nTo: ops@watch\.test\r\nSubject: alert\r\n\r\na message arrived\r\n$/);
    expect(await arrived('bob@alert.test')).toHaveLength(1);
  });
});

describe('ec_forward served', () => {
  it('sends each recipient its own message: the text, then the original whole as a message/rfc822 part, Subject "Fwd: " and the original\'s', async () => {
    const r = await relay.send('alice@sender.test', ['bob@forward.test'], ORIGINAL);
    expect(r.end?.code).toBe(250);
    const [abuse] = await arrived('abuse@watch.test');
    const [audit] = await arrived('audit@watch.test');
    expect(abuse!.to).toEqual(['abuse@watch.test']);
    expect(audit!.to).toEqual(['audit@watch.test']);
    for (const m of [abuse!, audit!]) {
      expect(m.from).toBe('desk@relay.test');
      expect(subjectOf(m.data)).toBe('Fwd: café order');
      expect(m.data).toMatch(/\r\nContent-Type: multipart\/mixed;/);
      expect(m.data).toContain('Look at this one.');
      expect(m.data).toMatch(/\r\nContent-Type: message\/rfc822\r\nContent-Transfer-Encoding: 7bit\r\nContent-Disposition: inline\r\n\r\n/);
      // Header and body as received, octet for octet.
      expect(m.data).toContain(ORIGINAL);
    }
    expect(abuse!.data).toMatch(/^To: abuse@watch\.test\r\n/m);
    expect(await arrived('bob@forward.test')).toHaveLength(1);
  });

  it('takes the script\'s Subject, writes a From for the null sender, and attaches an 8-bit original as 8bit', async () => {
    const eightBit = 'From: alice@sender.test\r\nSubject: x\r\n\r\ncaf\u00e9 au lait\r\n';
    const before = (await relay.gateway.messages.filter((m) => m.to.includes('abuse@watch.test'))).length;
    const r = await relay.send('alice@sender.test', ['carol@named.test'], eightBit);
    expect(r.end?.code).toBe(250);
    const all = await arrived('abuse@watch.test', before + 1);
    const m = all[all.length - 1]!;
    expect(m.from).toBe('');
    expect(m.data).toMatch(/^From: MAILER-DAEMON@relay\.test\r\n/);
    expect(subjectOf(m.data)).toBe('Suspicious mail');
    expect(m.data).toMatch(/\r\nContent-Type: message\/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n/);
    expect(m.data).toContain('caf\u00e9 au lait');
  });

  it('still forwards a message the same script then refuses, as Momentum sends it when called', async () => {
    const before = relay.gateway.messages.filter((m) => m.to.includes('abuse@watch.test')).length;
    const r = await relay.send('alice@sender.test', ['dave@refused.test'], 'From: alice@sender.test\r\nSubject: spam\r\n\r\nbuy\r\n');
    expect(r.end?.code).toBe(550);
    const all = await arrived('abuse@watch.test', before + 1);
    expect(all[all.length - 1]!.data).toContain('refused, for the record');
    expect(relay.gateway.messages.some((m) => m.to.includes('dave@refused.test'))).toBe(false);
  });
});

const DOCS = path.resolve('../shared/momentum-docs/scripts');
describe.skipIf(!existsSync(DOCS))("Momentum's documented examples (skipped: ../shared/momentum-docs is not beside the clone)", () => {
  let docs: RelayServer;
  beforeAll(async () => {
    // The three examples as one DATA-phase script: each sends its mail for every message.
    const text = ['127-generate-mail-raw.siv', '064-ec-forward-text.siv', '065-ec-forward-list.siv'].map((f) => readFileSync(path.join(DOCS, f), 'utf8')).join('\n');
    docs = await startRelayServer(text);
  });
  afterAll(async () => {
    await docs?.stop();
  });

  it('sends what generate_mail_raw and both ec_forward examples describe', async () => {
    const r = await docs.send('alice@sender.test', ['bob@here.test'], 'From: alice@sender.test\r\nSubject: quarterly\r\n\r\nnumbers\r\n');
    expect(r.end?.code).toBe(250);
    const [generated] = await docs.arrived(docs.gateway, 'sender@omniti.com');
    expect(generated!.from).toBe('rcpt@omniti.com');
    expect(generated!.data).toMatch(/\r\nFrom: rcpt@omniti\.com\r\nTo: sender@omniti\.com\r\nSubject: a testing email\r\n\r\ntesting\r\n$/);
    const [single] = await docs.arrived(docs.gateway, 'recipient@rcptto.com');
    expect(single!.from).toBe('sender@mailfrom.com');
    expect(subjectOf(single!.data)).toBe('I thought you might like this');
    expect(single!.data).toContain('This is a multi-line forwarded message, and\r\nthis is the second line.');
    for (const rcpt of ['rcpt1@rcptto.com', 'rcpt2@rcptto.com', 'rcpt3@rcptto.com']) {
      const [m] = await docs.arrived(docs.gateway, rcpt);
      expect(m!.to).toEqual([rcpt]);
      expect(subjectOf(m!.data)).toBe('Fwd: quarterly');
      expect(m!.data).toContain('forwarded message\r\nsecond line');
    }
    expect(await docs.arrived(docs.gateway, 'bob@here.test')).toHaveLength(1);
  });
});

describe('composing', () => {
  const now = new Date(Date.UTC(2026, 11, 2, 9, 30, 0));
  it('gives generate_mail_raw text CRLF line ends and adds only what its header lacks', () => {
    const text = rawMessage('Date: Mon, 1 Dec 2026 00:00:00 +0000\nSubject: s\n\nbody\nmore', 'relay.test', now).toString('utf8');
    expect(text).toMatch(/^Message-ID: <[0-9a-f]+\.generated@relay\.test>\r\nDate: Mon, 1 Dec 2026 00:00:00 \+0000\r\nSubject: s\r\n\r\nbody\r\nmore\r\n$/);
    const both = rawMessage('Message-ID: <a@b>\r\ndate: x\r\n\r\nb', 'relay.test', now).toString('utf8');
    expect(both).toBe('Message-ID: <a@b>\r\ndate: x\r\n\r\nb\r\n');
    // A Date in the body is not the message's.
    expect(rawMessage('Subject: s\n\nDate: in the body', 'relay.test', now).toString('utf8')).toMatch(/^Date: Wed, 2 Dec 2026 09:30:00 \+0000\r\n/);
    // All header and no empty line: the header section is ended.
    expect(rawMessage('Subject: only', 'relay.test', now).toString('utf8')).toMatch(/\r\nSubject: only\r\n\r\n$/);
  });

  it('reads the original Subject unfolded and decoded, from the header section only', () => {
    expect(originalSubject(Buffer.from('From: a\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n two\r\n\r\nSubject: body'))).toBe('café two');
    expect(originalSubject(Buffer.from('From: a\n\nSubject: in the body\n'))).toBeUndefined();
  });
});

describe('without delivery routing', () => {
  it('logs the script mail as not sent and goes on', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const connection = new ConnectionState({ id: 's1', remoteAddress: '192.0.2.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 25, hostname: 'mx.test', tls: false } as never);
    await sendOutgoing(undefined, logger, { phase: 'data', connection, transaction: undefined, message: undefined }, [{ type: 'generate_mail', from: '', to: ['a@b.test'], text: 'x' }]);
    expect(lines).toEqual([expect.objectContaining({ event: 'outgoing.unsent', phase: 'data', session: 's1', types: ['generate_mail'] })]);
  });
});
