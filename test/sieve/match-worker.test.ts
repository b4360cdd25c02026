/**
 * Matches over large values in worker threads (src/sieve/match/match-pool.ts):
 * a time-sliced run sends a value of OFFLOAD_CHARS or more to a worker, so
 * that one long match holds no other session; the answer, the match values
 * and the warnings are the ones the same match gives on the event loop, and
 * a match that outruns the run's CPU budget is stopped with the budget's
 * runtime error.
 *
 * No assertion depends on the machine's speed: a run ends with the budget
 * error or not, and timers fire during a run or not.
 */
import { describe, expect, it } from 'vitest';
import { execute, executeAsync, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { matchPool, OFFLOAD_CHARS } from '../../src/sieve/match/match-pool.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { compiled } from './helpers.js';
import { ticksDuring } from './ticks-during.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const line = 'a banana and a papaya are a snack, said Anna at the data bazaar\r\n';
const bigBody = (size = OFFLOAD_CHARS + 1000) => line.repeat(Math.ceil(size / line.length));
const bigMessage = (tail = '') => `From: joe@example.com\r\nX-Big: ${'Anna and a banana '.repeat(OFFLOAD_CHARS / 16)}${tail}\r\nSubject: big\r\n\r\n${bigBody()}`;

/** Runs a script on the event loop (execute: no slices, so no worker) and time-sliced (a worker), from fresh messages. */
async function both(script: string, message: string) {
  const c = compiled(script);
  const inline = await execute(c, { message: parseMessage(message), envelope }, {}, {});
  const before = matchPool.answers;
  const sliced = await executeAsync(c, { message: parseMessage(message), envelope });
  return { inline, sliced, offloaded: matchPool.answers > before };
}

const vars = (r: ExecutionResult, names: string[]) => names.map((n) => r.runtime.variable(n, undefined));

describe('matches over large values in a worker', () => {
  it('gives :regex match values as the event loop does', async () => {
    const script = 'require ["regex", "variables"]; if header :regex "x-big" "(b[an]+a) and (S.*)$" { set "one" "${1}"; set "two" "${2}"; }';
    const { inline, sliced, offloaded } = await both(script, bigMessage('and Snack time'));
    expect(offloaded).toBe(true);
    expect(sliced.errors).toEqual([]);
    expect(vars(sliced, ['one', 'two'])).toEqual(['banana', 'Snack time']);
    expect(vars(sliced, ['one', 'two'])).toEqual(vars(inline, ['one', 'two']));
  });

  it('keeps characters outside Latin-1 (sent to the worker as UTF-16)', async () => {
    const script = 'require ["regex", "variables"]; if header :regex "x-big" "(€ [^😀]*😀)" { set "one" "${1}"; }';
    const { inline, sliced, offloaded } = await both(script, bigMessage('€ für 😀'));
    expect(offloaded).toBe(true);
    expect(vars(sliced, ['one'])).toEqual(['€ für 😀']);
    expect(vars(sliced, ['one'])).toEqual(vars(inline, ['one']));
  });

  it('gives :matches match values and case-insensitive :contains answers as the event loop does', async () => {
    const script = `require ["body", "variables"];
      if header :matches "x-big" "*BANANA*snack*" { set "a" "\${3}"; }
      if body :raw :contains ["no such thing", "SAID ANNA"] { set "b" "yes"; }
      if body :raw :comparator "i;octet" :contains "SAID ANNA" { set "c" "yes"; }`;
    const { inline, sliced, offloaded } = await both(script, bigMessage(' time for a snack now'));
    expect(offloaded).toBe(true);
    expect(sliced.errors).toEqual([]);
    expect(vars(sliced, ['a', 'b', 'c'])).toEqual([' now', 'yes', '']);
    expect(vars(sliced, ['a', 'b', 'c'])).toEqual(vars(inline, ['a', 'b', 'c']));
  });

  it('reports a pattern that does not compile as a warning, as the event loop does', async () => {
    const script = 'require ["body", "regex", "variables"]; set "p" "(unclosed"; if body :raw :regex ["${p}", "papaya"] { set "r" "yes"; }';
    const { inline, sliced, offloaded } = await both(script, bigMessage());
    expect(offloaded).toBe(true);
    expect(sliced.errors).toEqual([]);
    expect(vars(sliced, ['r'])).toEqual(['yes']);
    expect(sliced.warnings.map((w) => w.message)).toEqual(inline.warnings.map((w) => w.message));
    expect(sliced.warnings).toHaveLength(1);
  });

  it('lets timers fire during one long match, which the event loop could not split', async () => {
    // With match values wanted, re2js runs its NFA: seconds for this pattern
    // over half a megabyte, in one call. On the event loop that call is
    // stopped at the budget too, but no timer fires until it is.
    const script = compiled('require ["regex", "variables"]; if header :regex "x-big" "(.*a){20}x" { set "m" "${1}"; }');
    // The value has the "x" the pattern needs, first, so only the engine can say it does not match.
    const message = parseMessage(`X-Big: x ${'a '.repeat(OFFLOAD_CHARS)}\r\n\r\nbody\r\n`);
    const [r, ticks] = await ticksDuring(() => executeAsync(script, { message, envelope }, {}, { limits: { maxCpuMs: 200 } }));
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 200 ms']);
    expect(ticks).toBeGreaterThan(0);
  });

  it('stops a runaway match at the CPU budget while timers go on, and the next match still works', async () => {
    // 500 patterns over a megabyte: seconds of matching, in one test.
    const keys = `[${Array.from({ length: 500 }, (_, i) => `"b[an]+a ${i}x"`).join(', ')}]`;
    const message = `From: joe@example.com\r\n\r\n${bigBody(1 << 20)}`;
    const [r, ticks] = await ticksDuring(() =>
      executeAsync(compiled(`require ["body", "regex"]; if body :raw :regex ${keys} { discard; }`), { message: parseMessage(message), envelope }, {}, { limits: { maxCpuMs: 200 } }),
    );
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 200 ms']);
    expect(r.errors[0]?.pos?.line).toBe(1);
    expect(r.implicitKeep).toBe(true);
    expect(ticks).toBeGreaterThan(0);
    // A worker stopped in the middle is replaced.
    const again = await executeAsync(compiled('require ["body", "regex"]; if body :raw :regex "papaya are" { discard; }'), { message: parseMessage(message), envelope });
    expect(again.errors).toEqual([]);
    expect(again.actions.map((a) => a.type)).toEqual(['discard']);
  });
});
