/**
 * RFC 2047 decoding and encoding of large header values in the worker
 * pool (src/sieve/runtime/header-codec.ts): libmime does either in one
 * call that cannot be split into slices, so a time-sliced run has a value
 * of CODEC_OFFLOAD_CHARS or more done in a worker. The value must be the
 * one the same call gives on the event loop, and the work must be charged
 * to the run and stopped at its budget while other timers go on.
 *
 * No assertion depends on the machine's speed: a run ends with the budget
 * error or not, and timers fire during a one-step call or not.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execute, executeAsync, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { matchPool, prepare } from '../../src/sieve/match/match-pool.js';
import { CODEC_OFFLOAD_CHARS } from '../../src/sieve/runtime/header-codec.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { libmime } from '../../src/sieve/runtime/libmime.js';
import { decodedHeaderValue, encodedHeaderValue } from '../../src/sieve/runtime/rfc2047.js';
import { getValue } from '../../src/sievepp/values.js';
import { compiledPP } from '../sievepp/helpers.js';
import { compiled } from './helpers.js';
import { ticksDuring } from './ticks-during.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
/** Encoded-words that libmime joins (same charset, Q or B), with other words between some of them. */
const WORDS = ['=?utf-8?Q?caf=C3=A9_au_lait?=', '=?UTF-8?q?cr=C3?=', '=?utf-8?Q?=A8me?=', '=?utf-8?B?w6k=?=', '=?utf-8?B?Y2Fm?=', '=?iso-8859-1?Q?=E9t=E9?=', 'plain', '=?', '?=', '€uro', '😀', 'x=?y'];
const bigSubject = (words: string[], size: number) => {
  const line = `${words.join(' ')} `;
  return line.repeat(Math.ceil(size / line.length));
};
const messageWith = (subject: string) => `From: joe@example.com\r\nSubject: ${subject}\r\n\r\nbody\r\n`;

describe('RFC 2047 codecs in a worker', () => {
  it('decode as the event loop does (property)', async () => {
    const piece = fc.oneof(fc.constantFrom(...WORDS, ' ', '  ', '\t'), fc.string({ maxLength: 6 }));
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 30 }).map((a) => a.join('')), async (s) => {
        const a = await matchPool.codec(prepare({ op: 'rfc2047-decode', value: s }), 10_000);
        expect(a).toEqual({ kind: 'done', text: decodedHeaderValue(s), ms: expect.any(Number) });
      }),
      { numRuns: 60 },
    );
  });

  it('encode as the event loop does, cut to what is kept (property)', async () => {
    const piece = fc.oneof(fc.constantFrom('a', ' ', 'é', '€', '😀', '=', '?', '_', '\t', 'plain'), fc.string({ maxLength: 4 }));
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 40 }).map((a) => a.join('')), fc.option(fc.nat(80)), async (s, keep) => {
        const a = await matchPool.codec(prepare({ op: 'rfc2047-encode', value: s, ...(keep === null ? {} : { keep }) }), 10_000);
        const whole = encodedHeaderValue(s);
        expect(a).toEqual({ kind: 'done', text: keep === null ? whole : whole.slice(0, keep), ms: expect.any(Number) });
      }),
      { numRuns: 60 },
    );
  });

  it('leaves a value all ASCII as libmime does (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.constantFrom('', '=?utf-8?Q?x?=', ' \t ', '?=', '_'), (s, extra) => {
        const v = s + extra;
        expect(encodedHeaderValue(v)).toBe(libmime().encodeWords(v, 'Q'));
      }),
      { numRuns: 300 },
    );
  });

  it('gives a header test over a large encoded Subject the answers of the event loop', async () => {
    const subject = bigSubject(WORDS, CODEC_OFFLOAD_CHARS + 1000);
    const script = compiled(
      'require ["variables", "index"]; if header :contains "subject" "laitcrème" { set "a" "yes"; } if header :matches "subject" "café au*" { set "b" "${1}"; } if header :index 1 :contains "subject" "été" { set "c" "yes"; }',
    );
    const inline = execute(script, { message: parseMessage(messageWith(subject)), envelope }, {}, {}) as ExecutionResult;
    const before = matchPool.answers;
    const sliced = await executeAsync(script, { message: parseMessage(messageWith(subject)), envelope });
    expect(matchPool.answers).toBeGreaterThan(before);
    expect(sliced.errors).toEqual([]);
    const vars = (r: ExecutionResult) => ['a', 'b', 'c'].map((n) => r.runtime.variable(n, undefined));
    expect(vars(sliced)[0]).toBe('yes');
    expect(vars(sliced)).toEqual(vars(inline));
  });

  it('gives ec_header_get the decoded values of the event loop', async () => {
    const subject = bigSubject(WORDS, CODEC_OFFLOAD_CHARS + 1000);
    const script = compiledPP('$h = ec_header_get "subject";', { phase: 'data' });
    const ctx = () => ({ message: parseMessage(`${messageWith(subject)}`), envelope, phase: 'data' });
    const inline = execute(script, ctx(), {}, { limits: { maxVariableSize: 1e9 } }) as ExecutionResult;
    const before = matchPool.answers;
    const sliced = await executeAsync(script, ctx(), {}, { limits: { maxVariableSize: 1e9 } });
    expect(matchPool.answers).toBeGreaterThan(before);
    expect(sliced.errors).toEqual([]);
    expect(getValue(sliced.runtime, 'h')).toEqual(getValue(inline.runtime, 'h'));
    expect(getValue(sliced.runtime, 'h')).toEqual([decodedHeaderValue(subject)]);
  });

  it('gives duplicate :header and deleteheader the decoded values of the event loop', async () => {
    const subject = bigSubject(WORDS, CODEC_OFFLOAD_CHARS + 1000);
    const script = compiled('require ["duplicate", "editheader"]; if duplicate :header "subject" { discard; } deleteheader :contains "subject" "laitcrème";');
    const keys: string[][] = [[], []];
    const host = (i: number) => ({ duplicate: (key: string) => (keys[i]!.push(key), false) });
    const inline = execute(script, { message: parseMessage(messageWith(subject)), envelope }, host(0), {}) as ExecutionResult;
    const before = matchPool.answers;
    const sliced = await executeAsync(script, { message: parseMessage(messageWith(subject)), envelope }, host(1));
    expect(matchPool.answers - before).toBe(1); // decoded once, kept for the run
    expect(sliced.errors).toEqual([]);
    expect(keys[1]).toEqual(keys[0]);
    expect(keys[1]![0]).toBe(`\0${decodedHeaderValue(subject)}`);
    const fields = (r: ExecutionResult) => r.runtime.message!.headers.map((h) => h.lname);
    expect(fields(sliced)).toEqual(['from']);
    expect(fields(sliced)).toEqual(fields(inline));
  });

  it('lets timers fire while a large Subject is decoded, and stops the decoding at the budget', async () => {
    // Seconds of libmime in one call (the encoded-words are joined and decoded as one): on the event
    // loop the run also ends with the budget error, but no timer fires until the call is over.
    const message = parseMessage(messageWith(bigSubject(['=?utf-8?Q?caf=C3=A9_au_lait?='], 4 << 20)));
    const script = compiled('if header :is "subject" "x" { discard; }');
    const [r, ticks] = await ticksDuring(() => executeAsync(script, { message, envelope }, {}, { limits: { maxCpuMs: 50 } }));
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 50 ms']);
    expect(ticks).toBeGreaterThan(0);
  });

  it('encodes a large value with ec_rfc2047_encode_header as the event loop does, keeping what a variable keeps', async () => {
    const value = `é ${'a banana, ß and € '.repeat(CODEC_OFFLOAD_CHARS / 18 + 100)}é`;
    const script = compiledPP(`$e = ec_rfc2047_encode_header "${value}";`, { phase: 'data' });
    const ctx = () => ({ message: parseMessage(messageWith('x')), envelope, phase: 'data' });
    const inline = execute(script, ctx(), {}, {}) as ExecutionResult;
    const before = matchPool.answers;
    const sliced = await executeAsync(script, ctx());
    expect(matchPool.answers).toBeGreaterThan(before);
    expect(sliced.errors).toEqual([]);
    expect(getValue(sliced.runtime, 'e')).toEqual(getValue(inline.runtime, 'e'));
    expect(String(getValue(sliced.runtime, 'e')).startsWith('=?UTF-8?Q?=C3=A9_a_banana')).toBe(true);
  });

  it('lets timers fire while ec_rfc2047_encode_header encodes a large value, and stops it at the budget', async () => {
    const value = `é ${'a b '.repeat(900_000 / 4)}é`;
    const script = compiledPP(`$e = ec_rfc2047_encode_header "${value}";`, { phase: 'data' });
    const ctx = { message: parseMessage(messageWith('x')), envelope, phase: 'data' };
    const [r, ticks] = await ticksDuring(() => executeAsync(script, ctx, {}, { limits: { maxCpuMs: 20 } }));
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 20 ms']);
    expect(ticks).toBeGreaterThan(0);
  });
});
