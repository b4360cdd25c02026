/** Resource limits (RFC 5228 2.10.6; Pigeonhole's defaults): going over one is a runtime error. */
import { describe, expect, it } from 'vitest';
import { errorsOf, run } from './helpers.js';

describe('limits', () => {
  it('allows 32 actions, not 33', async () => {
    const boxes = (n: number) => Array.from({ length: n }, (_, i) => `fileinto "box${i}";`).join('\n');
    expect((await run(`require "fileinto"; ${boxes(32)}`)).errors).toEqual([]);
    const r = await run(`require "fileinto"; ${boxes(33)}`);
    expect(r.errors[0]?.message).toBe('total number of actions exceeds policy limit');
    expect(r.errors[0]?.pos?.line).toBe(33);
  });
  it('allows 4 redirects, not 5', async () => {
    const redirects = (n: number) => Array.from({ length: n }, (_, i) => `redirect "r${i}@example.com";`).join('\n');
    expect((await run(redirects(4))).errors).toEqual([]);
    expect((await run(redirects(5))).errors[0]?.message).toBe('number of redirect actions exceeds policy limit');
  });
  it('stops a run that takes more steps than its budget', async () => {
    const tests = Array.from({ length: 50 }, () => 'if true { }').join('\n');
    const r = await run(tests, { limits: { maxSteps: 40 } });
    expect(r.errors[0]?.message).toMatch(/step limit of 40/);
  });
  it('refuses a script over the size limit', () => {
    expect(errorsOf('keep; keep; keep;', { limits: { maxScriptSize: 8 } }).join('\n')).toMatch(/size|large/i);
    expect(errorsOf('keep; keep; keep;')).toEqual([]);
  });

  it('limits block nesting at compile time', () => {
    const deep = 'if true {'.repeat(40) + '}'.repeat(40);
    expect(errorsOf(deep).join('\n')).toMatch(/nest/i);
  });
  it('limits variable values to 4096 characters', async () => {
    const r = await run(`require "variables"; set "a" "${'x'.repeat(5000)}";`);
    expect(r.runtime.variable('a', undefined)).toHaveLength(4096);
  });
  it('cuts a long value at a character boundary, in octets (ASCII and not)', async () => {
    const r = await run(`require "variables"; set "a" "${'x'.repeat(4095)}é"; set "b" "${'é'.repeat(2049)}"; set "c" "${'y'.repeat(4096)}";`);
    expect(r.runtime.variable('a', undefined)).toBe('x'.repeat(4095));
    expect(r.runtime.variable('b', undefined)).toBe('é'.repeat(2048));
    expect(r.runtime.variable('c', undefined)).toBe('y'.repeat(4096));
  });
});

describe('time budget', () => {
  const budget = (ms: string) => (n: string) => (n === 'sieve_max_cpu_time' ? ms : undefined);
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };

  it('stops a run that computes longer than sieve_max_cpu_time', async () => {
    // Each test costs 2 ms of CPU in the host; 100 of them exceed a 50 ms budget.
    const tests = Array.from({ length: 100 }, () => 'if mailboxexists "x" { }').join('\n');
    const host = { mailboxExists: () => (busy(2), false), setting: budget('50ms') };
    const r = await run(`require "mailbox";\n${tests}`, { host });
    expect(r.errors[0]?.message).toBe('execution exceeded the CPU time limit of 50 ms');
  });

  it('does not count time spent waiting for the host', async () => {
    // 20 look-ups of 5 ms each: 100 ms of waiting, almost no computing.
    const tests = Array.from({ length: 20 }, () => 'if mailboxexists "x" { }').join('\n');
    const host = { mailboxExists: () => new Promise<boolean>((r) => setTimeout(() => r(false), 5)), setting: budget('50ms') };
    const r = await run(`require "mailbox";\n${tests}`, { host });
    expect(r.errors).toEqual([]);
  });
});
