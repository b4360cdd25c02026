/**
 * A Sieve++ function whose value is only ever assigned works over only the
 * part of a large value a variable can keep (docs/sieve-interpreter.md,
 * "CPU budget and time slices"). What is kept must be what making the
 * whole value and cutting it to the size limit (RFC 5229 3) would keep:
 * checked here against a run whose limit keeps everything, on strings of
 * characters where the cut is delicate (surrogate pairs, characters whose
 * case mapping is longer, a final sigma).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { execute, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { getValue } from '../../src/sievepp/values.js';
import { compiledPP } from './helpers.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const chars = ['a', 'Z', ' ', 'ß', 'İ', 'Σ', 'ς', '€', '😀', '*', '\\', '?', '%', '.', 'ﬃ', '=', '\u00e9'];
const text = fc.array(fc.constantFrom(...chars), { maxLength: 300 }).map((a) => a.join(''));
const base64ish = fc.array(fc.constantFrom('Q', 'U', 'J', '/', '+', '8', 'w', '=', ' ', '*', '4', 'o'), { maxLength: 400 }).map((a) => a.join(''));

function run(script: string, s: string, maxVariableSize: number): ExecutionResult {
  const message = parseMessage(`From: joe@example.com\r\nX-S: ${s}\r\n\r\nbody\r\n`);
  return execute(compiledPP(script), { message, envelope, phase: 'data', messageContext: new Map([['s', s]]) }, {}, { limits: { maxVariableSize } }) as ExecutionResult;
}

/** The value `script` leaves in $y with the limit `kept`, and the whole value cut to that limit as a variable cuts it. */
function both(script: string, s: string, kept: number): [unknown, unknown] {
  const cut = run(script, s, kept);
  const whole = run(script, s, 1e9);
  expect(cut.errors).toEqual([]);
  const full = getValue(whole.runtime, 'y');
  return [getValue(cut.runtime, 'y'), typeof full === 'string' ? cut.runtime.fitVariable(full) : full];
}

describe('what a variable keeps of a function\'s value', () => {
  it.each(['qp_encode', 'reverse', 'ec_base64_encode', 'ec_tolower', 'ec_toupper'])('%s', (fn) => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 40 }), (s, kept) => {
        const [cut, whole] = both(`$y = ${fn} "%{vctx_mess:s}";`, s, kept);
        expect(cut).toBe(whole);
      }),
    );
  });

  it.each(['.', ' ', '*.', '**', '.*.'])('reverse_delim "%s"', (d) => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 40 }), (s, kept) => {
        const [cut, whole] = both(`$y = reverse_delim "${d}" "%{vctx_mess:s}";`, s, kept);
        expect(cut).toBe(whole);
      }),
    );
  });

  it('ec_base64_decode', () => {
    fc.assert(
      fc.property(fc.oneof(base64ish, text.map((t) => Buffer.from(t).toString('base64'))), fc.integer({ min: 1, max: 40 }), (s, kept) => {
        const [cut, whole] = both('$y = ec_base64_decode "%{vctx_mess:s}";', s, kept);
        expect(cut).toBe(whole);
      }),
    );
  });

  it('join', () => {
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 40 }), (s, kept) => {
        const [cut, whole] = both('$y = join "-" ["%{vctx_mess:s}", "x", "%{vctx_mess:s}"];', s, kept);
        expect(cut).toBe(whole);
      }),
    );
  });

  it('split keeps its first 1,024 pieces of a long value', () => {
    const r = run('$y = split " " "%{vctx_mess:s}"; $c = split "" "%{vctx_mess:s}";', 'a😀 '.repeat(5000), 4096);
    expect(getValue(r.runtime, 'y')).toEqual(Array(1024).fill('a😀'));
    expect(getValue(r.runtime, 'c')).toEqual(Array.from('a😀 '.repeat(342)).slice(0, 1024));
  });
});
