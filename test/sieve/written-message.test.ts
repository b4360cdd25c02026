/**
 * The message replace and enclose write out is parsed in time slices
 * (parseMessageIn, src/sieve/runtime/message.ts): a message with header
 * fields of megabytes held the event loop for its whole parse. The sliced
 * parse must give what the one-step parse gives, and charge the run for it.
 *
 * No assertion depends on the machine's speed: with a slice of (almost)
 * no length, every clock reading ends a slice, so a parse that reads in
 * slices yields many times and a one-step parse does not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execute, executeAsync, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { lazyMessage, parseMessage, parseMessageIn, type SieveMessage } from '../../src/sieve/runtime/message.js';
import { compiled } from './helpers.js';
import { plainFields } from '../helpers/header-fields.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };

/** A budget whose every slice is over: the parse lets the loop go after every line. */
function yieldingBudget() {
  const b = { charged: 0, pauses: 0, yieldDue: true, charge: (n: number) => void (b.charged += n), pause: () => (b.pauses++, Promise.resolve()) };
  return b;
}

const view = (m: SieveMessage) => ({ raw: m.raw, headers: m.headers, body: m.body, size: m.size, hasBody: m.hasBody });

describe('parsing a written message in slices', () => {
  it('gives what the one-step parse gives, and charges at least its length (property)', async () => {
    const line = fc.oneof(
      fc.constantFrom('Subject: hi', 'X-A : b', ' folded', '\tfolded', '', 'no colon', ':empty name', 'Bad Name: x', 'From:a@b', '  '),
      fc.string({ maxLength: 8 }),
    );
    const text = fc.tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom('\r\n', '\n'), fc.option(fc.string({ maxLength: 20 }))).map(([lines, eol, body]) => lines.join(eol) + (body === null ? '' : `${eol}${eol}${body}`));
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        const budget = yieldingBudget();
        const sliced = await parseMessageIn(t, budget);
        const whole = parseMessage(t);
        expect(view(sliced)).toEqual(view(whole));
        expect(budget.charged).toBeGreaterThanOrEqual(whole.raw.length);
      }),
      { numRuns: 500 },
    );
  });

  it('lets the event loop go while replace parses a message of a megabyte of header, and keeps the same message', async () => {
    const subject = 'a banana and a papaya are a snack, said Anna\r\n '.repeat((1 << 20) / 48);
    const message = () => parseMessage(`From: joe@example.com\r\nSubject: big ${subject}x\r\n\r\nold body\r\n`);
    const script = compiled('require "replace"; replace :subject "new" "new body";');
    // Every clock reading (one per 8,192 units charged) ends a slice: a parse in slices yields once a few lines.
    const sliced = await executeAsync(script, { message: message(), envelope }, {}, { timeSliceMs: 1e-9 });
    const whole = execute(script, { message: message(), envelope }, {}, {}) as ExecutionResult;
    expect(sliced.errors).toEqual([]);
    expect(sliced.runtime.budget.slices).toBeGreaterThan(50);
    expect(view(sliced.runtime.message!)).toEqual(view(whole.runtime.message!));
    expect(sliced.runtime.message!.headers.map((h) => h.name)).toEqual(['From', 'Original-Subject', 'Subject', 'MIME-Version', 'Content-Type', 'Content-Transfer-Encoding']);
  });

  it('lets the event loop go while enclose parses the message it wrote', async () => {
    const big = 'X-Big: a banana and a papaya are a snack, said Anna\r\n'.repeat(20_000);
    const message = () => parseMessage(`From: joe@example.com\r\n${big}Subject: s\r\n\r\nold body\r\n`);
    const script = compiled('require "enclose"; enclose :headers "X-Big" "see attached";');
    const sliced = await executeAsync(script, { message: message(), envelope }, {}, { timeSliceMs: 1e-9 });
    const whole = execute(script, { message: message(), envelope }, {}, {}) as ExecutionResult;
    expect(sliced.errors).toEqual([]);
    expect(sliced.runtime.budget.slices).toBeGreaterThan(50);
    // The Message-ID is random and the boundary depends on it: compare the fields the copy made.
    const big1 = (r: ExecutionResult) => r.runtime.message!.headers.filter((h) => h.lname === 'x-big').map((h) => h.value);
    expect(big1(sliced)).toEqual(big1(whole));
    expect(big1(sliced)).toHaveLength(20_000);
  });

  it('parses a lazy message\'s large header section in the run\'s slices, before the first command', async () => {
    const head = `From: joe@example.com\r\nSubject: ${'=?utf-8?Q?caf=C3=A9?=\r\n '.repeat(50_000)}x\r\n\r\n`;
    const text = `${head}body\r\n`;
    const script = compiled('if exists "subject" { discard; }');
    const lazy = lazyMessage(head, text.length, () => text);
    const sliced = await executeAsync(script, { message: lazy, envelope }, {}, { timeSliceMs: 1e-9 });
    expect(sliced.errors).toEqual([]);
    expect(sliced.actions.map((a) => a.type)).toEqual(['discard']);
    expect(sliced.runtime.budget.slices).toBeGreaterThan(50);
    expect(plainFields(lazy.headers)).toEqual(plainFields(parseMessage(text).headers));
    // Without slices the fields are parsed when first read, as before.
    const now = lazyMessage(head, text.length, () => text);
    const whole = execute(script, { message: now, envelope }, {}, {}) as ExecutionResult;
    expect(whole.actions.map((a) => a.type)).toEqual(['discard']);
    expect(plainFields(now.headers)).toEqual(plainFields(lazy.headers));
  });

  it('parses the whole message in the run\'s slices when the host keeps no header section apart (one of megabytes)', async () => {
    const text = `From: ${'joe@example.com,\r\n '.repeat(50_000)}last@example.net\r\nSubject: hi\r\n\r\nbody\r\n`;
    const script = compiled('if exists "subject" { discard; }');
    let loaded = 0;
    const lazy = lazyMessage(undefined, text.length, () => text, undefined, () => {
      loaded++;
      return Promise.resolve();
    });
    const sliced = await executeAsync(script, { message: lazy, envelope }, {}, { timeSliceMs: 1e-9 });
    expect(sliced.errors).toEqual([]);
    expect(sliced.actions.map((a) => a.type)).toEqual(['discard']);
    expect(sliced.runtime.budget.slices).toBeGreaterThan(50);
    // Loaded first (a spooled message, without holding the event loop), then parsed.
    expect(loaded).toBe(1);
    expect(plainFields(lazy.headers)).toEqual(plainFields(parseMessage(text).headers));
    expect(lazy.body).toBe('body\r\n');
  });
});
