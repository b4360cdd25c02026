/**
 * ec_dkim_responsible_domain (src/auth/sieve-functions.ts): the domain of
 * the first address of Sender, else of From, the value parsed as an address
 * list as the address test parses it, its encoded-words not decoded first
 * (RFC 2047 5). A client can send a From of megabytes, whose parsing is one
 * call that held every session up to a second: in a time-sliced run a value
 * of CODEC_OFFLOAD_CHARS or more is read in the match worker, with the same
 * function (docs/sieve-interpreter.md, "CPU budget and time slices").
 *
 * No assertion depends on the machine's speed: whether the worker
 * answered, whether a timer fired during the run, whether the run ended
 * with the budget error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { productFunctions } from '../../src/policy/functions.js';
import { execute, executeAsync, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { matchPool } from '../../src/sieve/match/match-pool.js';
import { parseAddressList } from '../../src/sieve/runtime/address.js';
import { CODEC_OFFLOAD_CHARS } from '../../src/sieve/runtime/header-codec.js';
import { decodedHeaderValue, parseMessage } from '../../src/sieve/runtime/message.js';
import { getValue } from '../../src/sievepp/values.js';
import { compiledPP } from '../sievepp/helpers.js';
import { ticksDuring } from '../sieve/ticks-during.js';

const script = () => compiledPP('$d = ec_dkim_responsible_domain;', { functions: productFunctions(), phase: 'data' });
const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const context = (fields: string[]) => ({ message: parseMessage(`${fields.join('\r\n')}\r\nSubject: x\r\n\r\nbody\r\n`), envelope, phase: 'data' });
const inline = (fields: string[]) => String(getValue((execute(script(), context(fields), {}) as ExecutionResult).runtime, 'd'));
async function sliced(fields: string[], maxCpuMs = 10_000): Promise<ExecutionResult> {
  return executeAsync(script(), context(fields), {}, { limits: { maxCpuMs } });
}

type Field = { name: string; value: string };
/** The first domain of Sender's values, else of From's, each value read by `read`, lower case. */
function answerOf(fields: Field[], read: (value: string) => string): string {
  for (const name of ['sender', 'from']) {
    for (const f of fields.filter((f) => f.name.toLowerCase() === name)) {
      const domain = parseAddressList(read(f.value))?.find((a) => a.domain)?.domain;
      if (domain) return domain.toLowerCase();
    }
  }
  return '';
}
/** The address test's reading of a field (RFC 5228 2.7.4): the value as it is. */
const asAddressTest = (fields: Field[]) => answerOf(fields, (v) => v);
/** The answer before encoded-words were left alone: each value decoded (RFC 2047), then parsed. */
const decodedFirst = (fields: Field[]) => answerOf(fields, decodedHeaderValue);

/** A From of about `size` characters: a display name of encoded-words, a long address list, ... as a client may send. */
const SHAPES: Record<string, (size: number) => string> = {
  'encoded-words': (size) => `${'=?utf-8?Q?caf=C3=A9_au_lait?= '.repeat(size / 30)}<joe@Example.COM>`,
  'quoted display name': (size) => `"${'Joe Average '.repeat(size / 12)}" <joe@Example.COM>`,
  'address list': (size) => `${'joe@Example.COM, '.repeat(size / 17)}last@example.net`,
};
/** Header lines of at most 78 characters (RFC 5322 2.1.1), as a message on the wire has them. */
const folded = (value: string) => value.replace(/(.{1,70})( |$)/g, '$1\r\n ').trimEnd();

describe('ec_dkim_responsible_domain', () => {
  it("is Sender's first domain, else From's, lower case; empty when neither has one", () => {
    expect(inline(['From: "Joe" <joe@Example.COM>'])).toBe('example.com');
    expect(inline(['From: joe@example.com', 'Sender: List <list@Lists.Example.NET>'])).toBe('lists.example.net');
    expect(inline(['Sender: undisclosed-recipients:;', 'From: a (comment) <a@b.example>, c@d.example'])).toBe('b.example');
    expect(inline(['From: =?utf-8?Q?Andr=C3=A9?= <andre@example.fr>'])).toBe('example.fr');
    expect(inline(['From: not an address'])).toBe('');
    expect(inline(['To: a@example.org'])).toBe('');
  });

  it('parses the field before any encoded-word is decoded: one decoding to "," or "@" neither breaks the list nor adds an address (RFC 2047 5)', () => {
    // "Müller, Hans", as a mail program encodes it: decoded first, the list did not parse.
    expect(inline(['From: =?utf-8?Q?M=C3=BCller=2C_Hans?= <hans@example.de>'])).toBe('example.de');
    // Decoded first, the display name added an address before the real one, and its domain answered.
    expect(inline(['From: =?utf-8?Q?boss=40bank.example=2C?= <mallory@evil.example>'])).toBe('evil.example');
    expect(inline(['From: =?utf-8?Q?=22?= <a@b.example>'])).toBe('b.example');
  });

  it("gives the first domain of the address test's reading, Sender's before From's, in a worker or not (property)", async () => {
    const piece = fc.constantFrom(
      'joe@Example.COM', '<a@b.example>', '"Doe, John" <john@doe.example>', '=?utf-8?Q?caf=C3=A9?=', '=?utf-8?Q?M=C3=BCller=2C_Hans?=',
      '=?utf-8?B?4oKs?=', '(a comment, with <a@c.example>)', 'group:', ';', 'undisclosed-recipients:;', ',', ' ', '"', '<', '>', '@', '.', 'x', '[1.2.3.4]',
    );
    const value = fc.array(piece, { maxLength: 12 }).map((a) => a.join(''));
    const fields = fc.array(fc.record({ name: fc.constantFrom('From', 'Sender', 'To'), value }), { minLength: 1, maxLength: 3 });
    // A leading comment of CODEC_OFFLOAD_CHARS makes a value one the worker reads; it holds no address (RFC 5322 3.2.2).
    const pad = `(${'x'.repeat(CODEC_OFFLOAD_CHARS)}) `;
    await fc.assert(
      fc.asyncProperty(fields, fc.boolean(), async (fs, large) => {
        const lines = fs.map((f) => `${f.name}: ${f.value}`);
        const expected = asAddressTest(fs);
        expect(inline(lines)).toBe(expected);
        if (!large) return;
        const padded = fs.map((f) => ({ ...f, value: f.name === 'To' ? f.value : `${pad}${f.value}` }));
        expect(asAddressTest(padded)).toBe(expected);
        const before = matchPool.answers;
        const r = await sliced(padded.map((f) => `${f.name}: ${f.value}`));
        expect(r.errors).toEqual([]);
        if (fs.some((f) => f.name !== 'To')) expect(matchPool.answers).toBeGreaterThan(before);
        expect(getValue(r.runtime, 'd')).toBe(expected);
      }),
      { numRuns: 120 },
    );
  });

  it('gives the answer it gave when it decoded encoded-words first, for the fields mail programs write (property)', () => {
    // Display names of words and encoded-words that decode to words (no RFC 5322 specials), quoted or not, comments, groups.
    const word = fc.constantFrom('Joe', 'van', 'O.Neil', '=?utf-8?Q?Andr=C3=A9?=', '=?utf-8?B?w6lsw6huZQ==?=', '=?iso-8859-1?Q?M=FCller?=', '=?utf-8?Q?caf=C3=A9_au_lait?=');
    const name = fc.array(word, { minLength: 1, maxLength: 4 }).map((w) => w.join(' '));
    const addr = fc.tuple(fc.constantFrom('joe', 'a.b', '"x y"'), fc.constantFrom('Example.COM', 'b.example', '[192.0.2.1]')).map(([l, d]) => `${l}@${d}`);
    const mailbox = fc.oneof(
      addr,
      fc.tuple(name, addr).map(([n, a]) => `${n} <${a}>`),
      fc.tuple(name, addr).map(([n, a]) => `"${n.replace(/=\?[^?]*\?.\?[^?]*\?=/g, 'x')}, Jr." <${a}>`),
      fc.tuple(addr, name).map(([a, n]) => `${a} (${n})`),
    );
    const group = fc.tuple(fc.constantFrom('undisclosed-recipients', 'team'), fc.array(mailbox, { maxLength: 2 })).map(([g, ms]) => `${g}:${ms.join(', ')};`);
    const value = fc.array(fc.oneof(mailbox, group), { minLength: 1, maxLength: 3 }).map((ms) => ms.join(', '));
    const fields = fc.array(fc.record({ name: fc.constantFrom('From', 'Sender'), value }), { minLength: 1, maxLength: 2 });
    fc.assert(
      fc.property(fields, (fs) => {
        expect(inline(fs.map((f) => `${f.name}: ${f.value}`))).toBe(decodedFirst(fs));
      }),
      { numRuns: 300 },
    );
  });

  it.each(Object.keys(SHAPES))('reads a From of megabytes (%s) in the match worker, not on the event loop', async (shape) => {
    const fields = [`From: ${folded(SHAPES[shape]!(4 << 20))}`];
    const before = matchPool.answers;
    const r = await sliced(fields);
    expect(matchPool.answers).toBeGreaterThan(before);
    expect(r.errors).toEqual([]);
    expect(getValue(r.runtime, 'd')).toBe('example.com');
    expect(getValue(r.runtime, 'd')).toBe(inline(fields));
  });

  it('reads many fields just under the size a worker reads in time slices, not in one step', async () => {
    // Each an address list that does not parse (its last member has no local part), so the next is read.
    const junk = `${'joe@example.com, '.repeat((CODEC_OFFLOAD_CHARS - 1000) / 17)}@x`;
    const fields = [...Array.from({ length: 20 }, () => `From: ${folded(junk)}`), 'From: last@Example.NET'];
    const [r, ticks] = await ticksDuring(() => sliced(fields));
    expect(r.errors).toEqual([]);
    expect(getValue(r.runtime, 'd')).toBe('example.net');
    expect(r.runtime.budget.slices).toBeGreaterThan(0);
    expect(ticks).toBeGreaterThan(0);
  });

  it('lets timers fire while it reads a From of megabytes, and stops at the budget', async () => {
    const [r, ticks] = await ticksDuring(() => sliced([`From: ${folded(SHAPES['address list']!(4 << 20))}`], 20));
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 20 ms']);
    expect(ticks).toBeGreaterThan(0);
  });
});
