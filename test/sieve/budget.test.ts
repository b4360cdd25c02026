/**
 * The CPU budget inside long tests, and time-sliced evaluation: a single
 * test that scans a large body against many keys, or a regex with a large
 * program over a large body, stops at the budget instead of after it; a
 * time-sliced run lets timers fire while it computes.
 *
 * No assertion here depends on how fast the machine is: a run either ends
 * with the budget error or not, and timers either fire during a run or not.
 */
import { describe, expect, it, vi } from 'vitest';
import { execute, executeAsync, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { OFFLOAD_CHARS } from '../../src/sieve/match/match-pool.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { readMimeTree } from '../../src/sieve/runtime/mime.js';
import type { MaybePromise } from '../../src/sieve/registry.js';
import { compiled } from './helpers.js';

/** A message whose body is `size` octets of lines that contain no "a" and no key. */
function bigMessage(size: number): string {
  const line = 'the quick brown fox jumps over the lazy dog 0123456789 xyz\r\n'.replace(/a/g, 'e');
  return `From: joe@example.com\r\nSubject: big\r\n\r\n${line.repeat(Math.ceil(size / line.length))}`;
}

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };

function start(script: string, size: number, maxCpuMs: number, run = execute): MaybePromise<ExecutionResult> {
  return run(compiled(script), { message: parseMessage(bigMessage(size)), envelope }, {}, { limits: { maxCpuMs } });
}

const keys = (n: number) => `[${Array.from({ length: n }, (_, i) => `"no such key ${i}"`).join(', ')}]`;

describe('the CPU budget inside one test', () => {
  it('stops body :raw :contains with thousands of keys over a large body', async () => {
    // 5,000 keys over 1 MB is gigabytes of scanning, in one step.
    const r = await start(`require "body"; if body :raw :contains ${keys(5000)} { discard; }`, 1 << 20, 50);
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 50 ms']);
    expect(r.errors[0]?.pos?.line).toBe(1);
  });

  it('stops a capturing :regex over a large value in the middle of the match', async () => {
    // With match values wanted, re2js runs its NFA: linear, but with this
    // pattern seconds over a megabyte of "a"s. The value holds the "x" the
    // pattern needs, or the literal prefilter would refuse it at once.
    const script = compiled('require ["regex", "variables"]; if header :regex "x-big" "(.*a){20}x" { set "m" "${1}"; }');
    const big = parseMessage(`X-Big: x${'a '.repeat(1 << 19)}\r\n\r\nbody\r\n`);
    const r = await execute(script, { message: big, envelope }, {}, { limits: { maxCpuMs: 50 } });
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 50 ms']);
    // The pattern still works after a run was stopped in the middle of it.
    const small = await execute(script, { message: parseMessage(`X-Big: ${'a'.repeat(20)}x\r\n\r\n`), envelope }, {}, {});
    expect(small.errors).toEqual([]);
    expect(small.runtime.variable('m', undefined)).toBe('a');
  });

  it('lets the same test finish when the budget allows', async () => {
    const r = await start(`require "body"; if body :raw :contains ${keys(10)} { discard; }`, 1 << 16, 10_000);
    expect(r.errors).toEqual([]);
    expect(r.implicitKeep).toBe(true);
  });
});

/** Counts the ticks of a 1 ms interval while `run` is in progress. */
async function ticksDuring(run: () => MaybePromise<ExecutionResult>): Promise<{ ticks: number; result: ExecutionResult }> {
  let ticks = 0;
  let running = true;
  const timer = setInterval(() => {
    if (running) ticks++;
  }, 1);
  try {
    const result = await run();
    running = false;
    return { ticks, result };
  } finally {
    clearInterval(timer);
  }
}

describe('time-sliced evaluation', () => {
  const heavyMatch = `require "body"; if body :raw :contains ${keys(200)} { discard; }`;
  // Many short commands: each iteration of the loop is a few steps.
  const heavyLoop = `require ["foreverypart", "variables"];
    foreverypart { set "x" "\${x}a"; set "x" "\${x}b"; set "x" "\${x}c"; }`;
  const multipart = (parts: number) => {
    const part = '--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n';
    return `From: joe@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n${part.repeat(parts)}--b--\r\n`;
  };

  it('lets timers fire while one long test computes, and gives the same answer', async () => {
    const script = compiled(heavyMatch);
    // Below OFFLOAD_CHARS: the match runs here, in slices, not in a worker (match-worker.test.ts).
    const ctx = () => ({ message: parseMessage(bigMessage(OFFLOAD_CHARS - 4096)), envelope });
    const sliced = await ticksDuring(() => executeAsync(script, ctx(), {}, { timeSliceMs: 2 }));
    expect(sliced.result.errors).toEqual([]);
    expect(sliced.result.runtime.budget.slices).toBeGreaterThan(0);
    expect(sliced.ticks).toBeGreaterThan(0);
    // The same run without slices holds the event loop: no timer fires until it ends.
    const whole = await ticksDuring(() => execute(script, ctx(), {}, {}));
    expect(whole.ticks).toBe(0);
    expect(whole.result.implicitKeep).toBe(sliced.result.implicitKeep);
  });

  it('lets timers fire between the commands of a long loop', async () => {
    const script = compiled(heavyLoop);
    // The part tree is read beforehand: reading it streams (and so yields) in any run; this is about the loop.
    const ctx = async () => {
      const message = parseMessage(multipart(5_000));
      await readMimeTree(message);
      return { message, envelope };
    };
    const first = await ctx();
    const sliced = await ticksDuring(() => executeAsync(script, first, {}, { timeSliceMs: 2, limits: { maxSteps: 10_000_000 } }));
    expect(sliced.result.errors).toEqual([]);
    expect(sliced.result.runtime.budget.slices).toBeGreaterThan(0);
    expect(sliced.ticks).toBeGreaterThan(0);
    const second = await ctx();
    const whole = await ticksDuring(() => execute(script, second, {}, { limits: { maxSteps: 10_000_000 } }));
    expect(whole.ticks).toBe(0);
    expect(whole.result.runtime.variable('x', undefined)).toBe(sliced.result.runtime.variable('x', undefined));
  });

  it('still stops a sliced run at its budget', async () => {
    const r = await start(`require "body"; if body :raw :contains ${keys(5000)} { discard; }`, 1 << 20, 50, executeAsync);
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 50 ms']);
  });
});

describe('a body test over a large part', () => {
  it('lets the event loop go between reading and decoding the part and matching it', async () => {
    // A clock that does not move: the run never yields because a slice is over, only where it chooses to.
    const now = vi.spyOn(performance, 'now').mockReturnValue(0);
    try {
      const message = parseMessage(bigMessage(2 << 20));
      await readMimeTree(message);
      const r = await executeAsync(compiled('require "body"; if body :text :contains "no such key" { discard; }'), { message, envelope }, {}, { limits: { maxCpuMs: 1e9 } });
      expect(r.errors).toEqual([]);
      expect(r.implicitKeep).toBe(true);
      expect(r.runtime.budget.slices).toBe(1);
    } finally {
      now.mockRestore();
    }
  });
});

describe('the CPU budget over a message written out again', () => {
  // A 1 MB header section: a budget of 0 ms is spent by any work at all, and
  // the script is two steps, so the clock is read only if the writing is charged.
  const fields = 'X-Filler: a banana and a papaya are a snack, said Anna at the data bazaar\r\n'.repeat(14_000);
  const message = `From: joe@example.com\r\n${fields}Subject: big\r\n\r\nbody\r\n`;
  const run = (script: string) => execute(compiled(script), { message: parseMessage(message), envelope }, {}, { limits: { maxCpuMs: 0 } });

  it.each([
    ['replace', 'require "replace"; replace "short";'],
    ['enclose', 'require "enclose"; enclose :subject "wrapped" "short";'],
  ])('%s charges the message it writes and parses', async (_name, script) => {
    const r = await run(script);
    expect(r.errors.map((e) => e.message)).toEqual(['execution exceeded the CPU time limit of 0 ms']);
  });
});
