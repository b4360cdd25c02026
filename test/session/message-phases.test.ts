/**
 * Momentum's spool and each_rcpt phases served by the real SMTP front door
 * over loopback (docs/server.md, "Phases"; src/session/message-phases.ts):
 * refusals at the dot, choices for the whole message and per recipient,
 * phase 1 / phase 2, the message tests, the transaction's log line, and the
 * DSN handed to the delivery queue for a partial refusal.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { OutgoingMail } from '../../src/session/decide.js';
import type { OutgoingMailSender } from '../../src/session/outgoing-mail.js';
import { SievePolicy } from '../../src/session/policy.js';
import type { SessionServices } from '../../src/session/session.js';
import { type Bindings, compilePhases } from '../helpers/phase-scripts.js';
import { sendMail, startTestServer } from '../helpers/server-fixture.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});


/** Log lines at info and above, as objects. */
function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

async function serve(bindings: Bindings, services: Partial<SessionServices> = {}) {
  const policy = new SievePolicy({ scripts: compilePhases(bindings), runtimeError: 'fail' });
  const t = await startTestServer(policy, { services });
  cleanups.push(() => t.close());
  return t;
}

/** An outgoing sender that keeps what it is given (the queue's side is test/delivery/message-phases.test.ts). */
function keeper() {
  const sent: OutgoingMail[] = [];
  const sender: OutgoingMailSender = { send: async (mails) => (sent.push(...mails), mails.map((_, i) => `Q${sent.length - mails.length + i}`)) };
  return { sent, sender };
}

const MESSAGE = 'From: a@b.test\r\nSubject: quarterly numbers\r\n\r\nthe needle is here\r\n';
const folderOf = async (t: Awaited<ReturnType<typeof serve>>, folder: string) => (await t.spooled(folder)).map((m) => m.envelope.recipients);

describe('spool', () => {
  it('a refusal refuses the whole message at the dot; nothing is spooled', async () => {
    const t = await serve({ spool: { phase1: 'require "reject";\nif header :contains "subject" "quarterly" { reject "not this one"; }' } });
    const r = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(r.end?.text).toBe('550 5.7.1 not this one');
    expect(await t.spooled()).toHaveLength(0);
  });

  it('runs after DATA, which it does not run when DATA refused, and its choices are the whole message\'s', async () => {
    const t = await serve({
      data: { phase1: 'require "reject";\nif header :contains "subject" "refuse-at-data" { reject "by data"; }' },
      spool: { phase1: 'require "fileinto";\nfileinto "Spooled"; ec_header_add "X-Spool" "seen";' },
    });
    const refused = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test'], 'Subject: refuse-at-data\r\n\r\nx\r\n');
    expect(refused.end?.text).toBe('550 5.7.1 by data');
    const r = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(r.end?.code).toBe(250);
    const [m] = await t.spooled('.Spooled');
    expect(m!.envelope.recipients).toEqual(['bob@here.test', 'carol@here.test']);
    expect(m!.message).toMatch(/^X-Spool: seen\r\n/m);
    expect(await t.spooled()).toHaveLength(0); // fileinto cancelled the implicit keep
  });
});

describe('each_rcpt', () => {
  it('sees one recipient in the envelope and in vctx_mess, with the message (header, body, size tests), and its fileinto is that recipient\'s', async () => {
    const t = await serve({
      each_rcpt: {
        phase1: `require ["fileinto", "envelope", "body"];
if allof (envelope :localpart :is "to" "bob", vctx_mess :is "rcptto_localpart" "bob", header :contains "subject" "quarterly", body :contains "needle", size :over 10) {
  fileinto "Bob";
}`,
      },
    });
    const r = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(r.end?.code).toBe(250);
    expect(await folderOf(t, '.Bob')).toEqual([['bob@here.test']]);
    expect(await folderOf(t, '')).toEqual([['carol@here.test']]);
  });

  it('its choices win over DATA\'s for its recipient, and a discard drops that recipient only', async () => {
    const t = await serve({
      data: { phase1: 'require "fileinto";\nfileinto "Data";' },
      each_rcpt: { phase1: 'require ["fileinto", "envelope"];\nif envelope :localpart :is "to" "carol" { discard; }' },
    });
    const r = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(r.end?.code).toBe(250);
    expect(await folderOf(t, '.Data')).toEqual([['bob@here.test']]);
  });

  it('phase 2 runs for a recipient only when phase 1 did not decide for it (stop alone decides nothing)', async () => {
    const t = await serve({
      each_rcpt: {
        phase1: 'require ["fileinto", "envelope"];\nif envelope :localpart :is "to" "bob" { fileinto "One"; }\nstop;',
        phase2: 'require "fileinto";\nfileinto "Two";',
      },
    });
    await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(await folderOf(t, '.One')).toEqual([['bob@here.test']]);
    expect(await folderOf(t, '.Two')).toEqual([['carol@here.test']]);
  });

  it('refusing every recipient refuses the message at the dot; a 4xx among 5xx wins, so nothing is lost', async () => {
    const t = await serve({
      each_rcpt: { phase1: 'require ["envelope", "reject"];\nif envelope :localpart :is "to" "bob" { reject "no bob"; } else { ec_action 452 "4.2.2 carol is full"; }' },
    });
    const one = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test'], MESSAGE);
    expect(one.end?.text).toBe('550 5.7.1 no bob');
    const both = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(both.end?.text).toBe('452 4.2.2 carol is full');
    expect(await t.spooled()).toHaveLength(0);
  });

  it('a script that fails at run time (runtime_error = fail) defers the whole message, not one recipient', async () => {
    const { sent, sender } = keeper();
    const t = await serve({ each_rcpt: { phase1: 'require "envelope";\nif envelope :localpart :is "to" "carol" { $n = ec_div 1 0; }' } }, { outgoing: sender });
    const r = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(r.end?.text).toBe('451 4.3.0 Temporary policy error, please try again later');
    expect(sent).toHaveLength(0);
    expect(await t.spooled()).toHaveLength(0);
  });

  it('refusing one of two accepts the other, lists every run on the transaction line and hands the queue a DSN for the refused one', async () => {
    const { lines, logger } = capture();
    const { sent, sender } = keeper();
    const t = await serve({ each_rcpt: { phase1: 'require ["envelope", "reject"];\nif envelope :localpart :is "to" "carol" { reject "no carol"; }' } }, { logger, outgoing: sender });
    const r = await sendMail(await t.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(r.end?.code).toBe(250);
    expect(await folderOf(t, '')).toEqual([['bob@here.test']]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ type: 'dsn', from: '', to: ['alice@sender.test'], refused: [{ address: 'carol@here.test', reply: { code: 550, enhanced: '5.7.1', text: 'no carol' } }] });
    const tx = lines.find((l) => l.event === 'transaction')!;
    expect(tx.outcome).toBe('accepted');
    expect(tx.phases).toEqual([
      { phase: 'mailfrom', code: 250 },
      { phase: 'rcptto', code: 250, recipient: 'bob@here.test' },
      { phase: 'rcptto', code: 250, recipient: 'carol@here.test' },
      { phase: 'each_rcpt', code: 250, recipient: 'bob@here.test' },
      { phase: 'each_rcpt', code: 550, recipient: 'carol@here.test' },
      { phase: 'data', code: 250 },
    ]);
    expect(tx.outgoing).toEqual(['Q0']);
  });

  it('sends no DSN to the null sender, nor when the option is off; without a queue it warns that none was sent', async () => {
    const script = { each_rcpt: { phase1: 'require ["envelope", "reject"];\nif envelope :localpart :is "to" "carol" { reject "no carol"; }' } };
    const nul = keeper();
    const a = await serve(script, { outgoing: nul.sender });
    expect((await sendMail(await a.client(), '', ['bob@here.test', 'carol@here.test'], MESSAGE)).end?.code).toBe(250);
    expect(nul.sent).toHaveLength(0);

    const off = keeper();
    const b = await serve(script, { outgoing: off.sender, policyRejectionBounces: false });
    expect((await sendMail(await b.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE)).end?.code).toBe(250);
    expect(off.sent).toHaveLength(0);

    const { lines, logger } = capture();
    const c = await serve(script, { logger });
    expect((await sendMail(await c.client(), 'alice@sender.test', ['bob@here.test', 'carol@here.test'], MESSAGE)).end?.code).toBe(250);
    expect(lines.find((l) => l.event === 'outgoing.unsent')).toMatchObject({ level: 40, phase: 'each_rcpt', types: ['dsn'] });
  });
});
