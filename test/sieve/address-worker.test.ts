/**
 * The address test (RFC 5228 5.1) over large fields: a client can send a
 * From of megabytes, a list of hundreds of thousands of addresses, whose
 * parse is one call that held every session most of a second. In a
 * time-sliced run a field of OFFLOAD_CHARS or more is tested whole in the
 * match worker (parse, address part, match; match/address-match.ts), and
 * the fields are read one at a time, the run letting the event loop go
 * between them (extensions/address-in-pieces.ts).
 *
 * No assertion depends on the machine's speed: whether the worker
 * answered, whether a timer fired during the run, how many slices the run
 * had, whether the run ended with the budget error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execute, executeAsync, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { matchPool, OFFLOAD_CHARS } from '../../src/sieve/match/match-pool.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import type { SieveHost } from '../../src/sieve/runtime/host.js';
import { compiled } from './helpers.js';
import { ticksDuring } from './ticks-during.js';

const REQUIRE = 'require ["variables", "relational", "subaddress", "regex", "comparator-i;ascii-numeric"];';
const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const messageOf = (fields: string[]) => parseMessage(`${fields.join('\r\n')}\r\nSubject: x\r\n\r\nbody\r\n`);
const hostWith = (delimiters: string | undefined): SieveHost => ({ setting: (n) => (n === 'recipient_delimiter' ? delimiters : undefined) });
/** ${r}: whether the test held, with the match values it set. */
const scriptFor = (test: string) => compiled(`${REQUIRE} if ${test} { set "r" "yes [\${0}] [\${1}] [\${2}]"; } else { set "r" "no"; }`);
const answer = (r: ExecutionResult) => {
  expect(r.errors).toEqual([]);
  return r.runtime.variable('r', undefined);
};
/** Header lines of at most 78 characters (RFC 5322 2.1.1), as a message on the wire has them. */
const folded = (value: string) => value.replace(/(.{1,70})( |$)/g, '$1\r\n ').trimEnd();
/** A list of `n` addresses. */
const list = (n: number) => `${'joe+tag@Example.COM, '.repeat(n - 1)}last@example.net`;

// A leading comment of OFFLOAD_CHARS makes a value one the worker reads; it holds no address (RFC 5322 3.2.2).
const PAD = `(${'x'.repeat(OFFLOAD_CHARS)}) `;

describe('the address test over large fields', () => {
  it('answers in the worker as on the event loop: parts, match types, comparators, keys, :count (property)', async () => {
    const piece = fc.constantFrom(
      'joe@Example.COM', '<a+b@c.example>', '"Doe, John" <john-x@doe.example>', 'user+detail@sub.example.org', '"q u"@x.example',
      '=?utf-8?Q?M=C3=BCller=2C_Hans?=', '(a comment, with <a@c.example>)', 'group:', ';', 'undisclosed-recipients:;', ',', ' ',
      '"', '<', '>', '@', '.', 'x', '[1.2.3.4]', 'Ünïcode <ü@ü.example>', '12@34.example',
    );
    const value = fc.array(piece, { maxLength: 10 }).map((a) => a.join(''));
    const fields = fc.array(fc.record({ name: fc.constantFrom('From', 'To', 'Cc'), value, large: fc.boolean() }), { minLength: 1, maxLength: 4 });
    const part = fc.constantFrom('', ':all', ':localpart', ':domain', ':user', ':detail');
    const key = fc.constantFrom('joe', 'example.com', 'EXAMPLE.COM', 'c.example', '*', '*@*', '?*+*', '*.example', 'a', '', 'detail', '12', '3', '0', 'ü');
    const regexKey = fc.constantFrom('^(.*)@(.*)$', 'ex[a-z]+', '^$', '(u|j)', 'ü');
    const match = fc.oneof(
      fc.tuple(fc.constantFrom(':is', ':contains', ':matches'), fc.constantFrom('i;octet', 'i;ascii-casemap', 'i;unicode-casemap'), fc.array(key, { minLength: 1, maxLength: 3 })),
      fc.tuple(fc.constant(':regex'), fc.constantFrom('i;octet', 'i;ascii-casemap'), fc.array(regexKey, { minLength: 1, maxLength: 2 })),
      fc.tuple(fc.constantFrom(':is', ':value "lt"', ':value "ge"', ':count "eq"', ':count "ge"', ':count "lt"'), fc.constantFrom('i;ascii-numeric', 'i;ascii-casemap'), fc.array(key, { minLength: 1, maxLength: 3 })),
    );
    const headers = fc.constantFrom('"from"', '["from", "to"]', '["cc", "from", "to"]');
    await fc.assert(
      fc.asyncProperty(fields, part, match, headers, fc.constantFrom(undefined, '-+'), async (fs, p, [mt, cmp, keys], names, delimiters) => {
        const message = () => messageOf(fs.map((f) => `${f.name}: ${f.large ? PAD : ''}${f.value}`));
        const script = scriptFor(`address ${p} :comparator "${cmp}" ${mt} ${names} [${keys.map((k) => JSON.stringify(k)).join(', ')}]`);
        const host = hostWith(delimiters);
        const inline = answer(execute(script, { message: message(), envelope }, host) as ExecutionResult);
        const before = matchPool.answers;
        const sliced = answer(await executeAsync(script, { message: message(), envelope }, host));
        expect(sliced).toBe(inline);
        // The first field the test reads (per name, in the order of the names: RFC 5228 5.1) went to the worker when it is large.
        const order = ([] as string[]).concat(JSON.parse(names) as string | string[]);
        const first = order.flatMap((n) => fs.filter((f) => f.name.toLowerCase() === n))[0];
        if (first?.large) expect(matchPool.answers).toBeGreaterThan(before);
      }),
      { numRuns: 150 },
    );
  });

  it(':count counts the addresses of a field read in the worker and of one read here (RFC 5231 4.2)', async () => {
    const n = Math.ceil(OFFLOAD_CHARS / 20) + 10;
    const fields = [`From: ${folded(list(n))}`, 'To: a@b.example, (none) c@d.example'];
    const script = scriptFor(`address :count "eq" :comparator "i;ascii-numeric" ["from", "to"] "${n + 2}"`);
    const before = matchPool.answers;
    const r = await executeAsync(script, { message: messageOf(fields), envelope });
    expect(matchPool.answers).toBe(before + 1);
    expect(answer(r)).toBe('yes [] [] []');
    expect(answer(execute(script, { message: messageOf(fields), envelope }) as ExecutionResult)).toBe('yes [] [] []');
  });

  it('gives the match values of the first address that matches, in the worker (RFC 5229 3.2)', async () => {
    const fields = [`From: ${folded(`${list(20_000)}, boss+urgent@bank.example`)}`];
    const script = scriptFor('address :detail :matches "from" "u*g*t"');
    const before = matchPool.answers;
    const r = await executeAsync(script, { message: messageOf(fields), envelope });
    expect(matchPool.answers).toBeGreaterThan(before);
    expect(answer(r)).toBe('yes [urgent] [r] [en]');
  });

  it('answers a second test over the same large field as the first, whatever the worker kept of it', async () => {
    const fields = [`From: ${folded(`${list(20_000)}, Boss <boss+urgent@bank.example>`)}`, 'To: x@y.example'];
    const script = compiled(
      `${REQUIRE} if address :localpart "from" "zzz" { set "a" "1"; } ` +
        'if address :detail :matches ["to", "from"] "u*t" { set "b" "${1}"; } if address :count "eq" :comparator "i;ascii-numeric" "from" "20001" { set "c" "n"; } ' +
        'if address :all :contains "from" "bank" { set "r" "${a}${b}${c}"; }',
    );
    const before = matchPool.answers;
    const sliced = answer(await executeAsync(script, { message: messageOf(fields), envelope }));
    expect(matchPool.answers).toBe(before + 4);
    expect(sliced).toBe('rgenn');
    expect(answer(execute(script, { message: messageOf(fields), envelope }) as ExecutionResult)).toBe(sliced);
  });

  it('lets timers fire while it tests a From of megabytes, and stops at the budget', async () => {
    const fields = [`From: ${folded(list(200_000))}`];
    const script = scriptFor('address :domain "from" "x.example"');
    const before = matchPool.answers;
    const [r, ticks] = await ticksDuring(() => executeAsync(script, { message: messageOf(fields), envelope }));
    expect(matchPool.answers).toBeGreaterThan(before);
    expect(answer(r)).toBe('no');
    expect(ticks).toBeGreaterThan(0);
    const [stopped, ticked] = await ticksDuring(() => executeAsync(script, { message: messageOf(fields), envelope }, {}, { limits: { maxCpuMs: 20 } }));
    expect(stopped.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 20 ms']);
    expect(ticked).toBeGreaterThan(0);
  });

  it('reads many fields just under the size a worker reads in time slices, not in one step', async () => {
    const junk = `${'joe@example.com, '.repeat((OFFLOAD_CHARS - 1000) / 17)}@x`;
    // Each an address list that does not parse (its last member has no local part), each different (a run parses a value once).
    const fields = [...Array.from({ length: 20 }, (_, i) => `From: (${i}) ${folded(junk)}`), 'From: last@Example.NET'];
    const script = scriptFor('address :domain "from" "example.net"');
    const before = matchPool.answers;
    const [r, ticks] = await ticksDuring(() => executeAsync(script, { message: messageOf(fields), envelope }));
    expect(answer(r)).toBe('yes [] [] []');
    expect(matchPool.answers).toBe(before);
    expect(r.runtime.budget.slices).toBeGreaterThan(0);
    expect(ticks).toBeGreaterThan(0);
  });
});
