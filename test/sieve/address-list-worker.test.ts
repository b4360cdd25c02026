/**
 * `address :list` (RFC 6134 2.2) over a large field: the match worker
 * parses it and answers with its part values, which the run checks against
 * the host's lists (extensions/address-in-pieces.ts). Before, a 10 MB From
 * of 600,000 addresses was parsed on the event loop in one step, holding
 * every session most of a second.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execute, executeAsync, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { packValues, unpackValues } from '../../src/sieve/match/address-match.js';
import { matchPool, OFFLOAD_CHARS } from '../../src/sieve/match/match-pool.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import type { ExternalList, SieveHost } from '../../src/sieve/runtime/host.js';
import { compiled } from './helpers.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const members = new Set(['bob@example.net', 'example.org']);
const book: ExternalList = { contains: (v) => members.has(v.toLowerCase()), members: () => [...members] };
const host: SieveHost = { externalList: (name) => (name === 'urn:ietf:params:sieve:addrbook:default' ? book : undefined) };
const script = (part: string) => compiled(`require ["extlists", "variables"]; if address ${part} :list "from" ":addrbook:default" { set "r" "yes \${0}"; } else { set "r" "no"; }`);
const answer = (r: ExecutionResult) => {
  expect(r.errors).toEqual([]);
  return r.runtime.variable('r', undefined);
};
/** A From of `n` addresses, about 22 characters each, then `last`: past OFFLOAD_CHARS for n of 12,000 and more. */
const FIELD = 'joe+tag@Example.COM,\r\n ';
const bigFrom = (n: number, last: string) => parseMessage(`From: ${FIELD.repeat(n)}${last}\r\nSubject: x\r\n\r\nbody\r\n`);

describe('address :list over a large field', () => {
  it('is decided from the part values the worker parsed, as on the event loop', async () => {
    const cases: Array<[string, string, string]> = [
      ['', 'Bob <bob@Example.NET>', 'yes bob@Example.NET'],
      [':domain', 'someone@example.org', 'yes example.org'],
      ['', 'carol@example.com', 'no'],
      [':localpart', 'bob@example.net', 'no'],
    ];
    // A field the worker takes (address-in-pieces.ts).
    expect(FIELD.length * 30_000).toBeGreaterThan(OFFLOAD_CHARS);
    for (const [part, last, expected] of cases) {
      const message = bigFrom(30_000, last);
      const before = matchPool.answers;
      expect(answer(await executeAsync(script(part), { message, envelope }, host))).toBe(expected);
      // The worker answered: the field was not parsed on the event loop.
      expect(matchPool.answers).toBeGreaterThan(before);
      // The synchronous run (no slices, no worker) gives the same answer.
      expect(answer(execute(script(part), { message: bigFrom(30_000, last), envelope }, host) as ExecutionResult)).toBe(expected);
    }
  }, 120_000);

  it('warns once of a key that names no list, however long the value list', async () => {
    const s = compiled('require "extlists"; if address :list "from" ["tag:example.com,2024:nope", ":addrbook:default"] { discard; }');
    const r = await executeAsync(s, { message: bigFrom(30_000, 'bob@example.net'), envelope }, host);
    expect(r.errors).toEqual([]);
    expect(r.actions.some((a) => a.type === 'discard')).toBe(true);
    expect(r.warnings.map((w) => w.message)).toEqual([`key item 'tag:example.com,2024:nope' for ":list" match is not a known list name`]);
  }, 60_000);

  it('packs part values of any characters, each read back whole and in order (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 40 }), (values) => {
        const { text, lengths } = unpackValues(packValues(values));
        const out: string[] = [];
        let at = 0;
        for (const n of lengths) {
          out.push(text.slice(at, at + n));
          at += n;
        }
        expect(out).toEqual(values);
      }),
    );
  });
});
