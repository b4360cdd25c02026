import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Choices, decide, mergeChoices, noChoices, NOTHING_DECIDED } from '../../src/session/decide.js';
import { type DeliveryPlan, planDelivery, planInFull } from '../../src/session/delivery-plan.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bufferSource, fileSource } from '../../src/session/message-source.js';
import { Transaction } from '../../src/session/state.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';

const message = bufferSource(Buffer.from('From: a@b.test\r\nSubject: s\r\n\r\nbody\r\n'));
const address = fc.constantFrom('bob@here.test', 'carol@here.test', 'Bob@here.test', 'dave@else.test');

/** Choices as phases make them: mostly nothing, sometimes a store, a redirect, a discard, an edit, an added recipient. */
const choices: fc.Arbitrary<Choices> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(NOTHING_DECIDED) },
  { weight: 2, arbitrary: fc.constant(null).map(() => noChoices()) },
  {
    weight: 3,
    arbitrary: fc
      .record({
        implicitKeep: fc.boolean(),
        folders: fc.array(fc.constantFrom('INBOX', 'inbox', 'Lists', 'Junk'), { maxLength: 2 }),
        redirects: fc.array(address, { maxLength: 1 }),
        addRecipients: fc.array(address, { maxLength: 1 }),
        mailFrom: fc.option(address, { nil: undefined }),
        gateway: fc.option(fc.constantFrom('relay.test', '192.0.2.1:2525'), { nil: undefined }),
        edit: fc.boolean(),
        vacation: fc.boolean(),
      })
      .map((r) => {
        const c = noChoices();
        mergeChoices(c, { ...noChoices(), implicitKeep: r.implicitKeep, folders: r.folders, redirects: r.redirects, addRecipients: r.addRecipients, ...(r.mailFrom ? { mailFrom: r.mailFrom } : {}), ...(r.gateway ? { gateway: r.gateway } : {}) });
        if (r.edit) c.headerEdits.push({ op: 'add', name: 'X-Test', value: 'yes' } as Choices['headerEdits'][number]);
        if (r.vacation) c.vacations.push({ reason: 'away' });
        return c;
      }),
  },
);

/** A plan with its message as octets: two plans of the same message hold two sources, each its own object. */
const octetsOf = (plan: DeliveryPlan | Promise<DeliveryPlan>) => {
  if (plan instanceof Promise) throw new Error('a message in memory is planned without waiting');
  return plan.message ? { ...plan, message: plan.message.bytes().toString('latin1') } : plan;
};

describe('the delivery plan', () => {
  it('property: the shortcut for messages no phase chose anything for but header edits plans what working it out in full plans', () => {
    fc.assert(
      fc.property(choices, choices, choices, fc.array(fc.tuple(address, choices), { maxLength: 3 }), (connection, atMailFrom, data, recipients) => {
        const tx = new Transaction('alice@sender.test', 'S.1');
        if (atMailFrom !== NOTHING_DECIDED) mergeChoices(tx.choices, atMailFrom);
        for (const [a, c] of recipients) {
          tx.offer(a);
          tx.accept({ address: a, choices: c });
        }
        expect(octetsOf(planDelivery(connection, tx, data, message, undefined))).toEqual(octetsOf(planInFull(connection, tx, data, message, undefined)));
      }),
      { numRuns: 2000 },
    );
  });

  it('with nothing chosen anywhere, every recipient gets INBOX, and nothing is made for the transaction choices read', () => {
    const tx = new Transaction('alice@sender.test', 'S.1');
    for (const a of ['bob@here.test', 'carol@here.test']) {
      tx.offer(a);
      tx.accept({ address: a, choices: NOTHING_DECIDED });
    }
    expect(planDelivery(NOTHING_DECIDED, tx, NOTHING_DECIDED, message, undefined)).toEqual({ stores: [{ folder: 'INBOX', recipients: ['bob@here.test', 'carol@here.test'] }], redirects: [], vacations: [], notifications: [] });
    expect(tx.chosenSoFar).toBe(NOTHING_DECIDED);
  });
});

describe('header edits', () => {
  const dir = tempDirPerTest('plan-');

  it('change the header section of a spooled message, and its body stays in the file, unread until the store copies it', async () => {
    const head = 'From: a@b.test\r\nSubject: s\r\n\r\n';
    const body = 'line\r\n'.repeat(10_000);
    const path = join(dir(), 'incoming');
    await writeFile(path, head + body);
    const received = fileSource(path, { size: head.length + body.length, bareLf: 0, head: Buffer.from(head) });
    const tx = new Transaction('alice@sender.test', 'S.1');
    tx.offer('bob@here.test');
    tx.accept({ address: 'bob@here.test', choices: NOTHING_DECIDED });
    const data = noChoices();
    data.headerEdits.push({ op: 'add', name: 'X-Test', value: 'yes' } as Choices['headerEdits'][number]);
    const plan = planInFull(NOTHING_DECIDED, tx, data, received, undefined);
    // Planned at once, with nothing read from the file.
    if (plan instanceof Promise) throw new Error('the plan waited for the message to be loaded');
    expect(received.loaded?.()).toBe(false);
    expect(plan.message!.head!.toString()).toBe(`X-Test: yes\r\n${head}`);
    const copied: Buffer[] = [];
    for await (const chunk of plan.message!.chunks(Buffer.alloc(4096))) copied.push(Buffer.from(chunk));
    expect(Buffer.concat(copied).toString()).toBe(`X-Test: yes\r\n${head}${body}`);
    expect(received.loaded?.()).toBe(false);
  });
});

describe('the gateway a script chose (ec_set_routing_gateway)', () => {
  const chose = (gateway: string): Choices => ({ ...noChoices(), gateway });

  it('is the recipient\'s own at RCPT TO, every recipient\'s at DATA, and DATA\'s wins', async () => {
    const tx = new Transaction('alice@sender.test', 'S.1');
    for (const [a, c] of [['bob@here.test', chose('bob.relay.test')], ['carol@here.test', NOTHING_DECIDED], ['dave@here.test', { ...noChoices(), implicitKeep: false }]] as const) {
      tx.offer(a);
      tx.accept({ address: a, choices: c });
    }
    expect((await planDelivery(NOTHING_DECIDED, tx, NOTHING_DECIDED, message, undefined)).gateways).toEqual({ 'bob@here.test': 'bob.relay.test' });
    // dave was discarded at RCPT TO: no copy, so no gateway for one.
    const atData = await planDelivery(NOTHING_DECIDED, tx, { ...chose('all.relay.test'), addRecipients: ['erin@here.test'] }, message, undefined);
    expect(atData.gateways).toEqual({ 'bob@here.test': 'all.relay.test', 'carol@here.test': 'all.relay.test', 'erin@here.test': 'all.relay.test' });
  });

  it('is taken from the routing_gateway action, the last one of a run winning', () => {
    const action = (target: string) => ({ type: 'routing_gateway', target }) as unknown as Parameters<typeof decide>[1][number];
    expect(decide('rcptto', [action('a.test'), action('b.test:2525')], true).gateway).toBe('b.test:2525');
  });
});

describe('NOTHING_DECIDED', () => {
  it('is what a run that took no action decides, shared and frozen to the bottom', () => {
    expect(decide('rcptto', [], true)).toBe(NOTHING_DECIDED);
    expect(decide('rcptto', [], false)).not.toBe(NOTHING_DECIDED);
    expect(Object.isFrozen(NOTHING_DECIDED) && Object.isFrozen(NOTHING_DECIDED.folders) && Object.isFrozen(NOTHING_DECIDED.redirectDetails)).toBe(true);
    expect(() => (NOTHING_DECIDED.folders as string[]).push('Junk')).toThrow(TypeError);
    expect(NOTHING_DECIDED).toEqual({ ...noChoices(), disconnect: false, tarpitMs: 0, final: false });
  });
});
