/**
 * The match workers' heaps are bounded (src/sieve/match/match-pool.ts,
 * WORKER_HEAP_MB; docs/sieve-interpreter.md, "Memory of the match
 * workers"): a task that needs more is stopped, its run fails with a
 * runtime error instead of being tried again on the event loop, and the
 * pool goes on with a fresh thread.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { executeAsync } from '../../src/sieve/interpreter.js';
import { matchPool, OFFLOAD_CHARS, poolWithHeap, prepare, WORKER_HEAP_MB } from '../../src/sieve/match/match-pool.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { compiled } from './helpers.js';

const MB = 1 << 20;
/** A From of 4 MiB of addresses: its parse takes more than 16 MiB of heap (about 30 times its size). */
const bigFrom = () => {
  let s = '';
  for (let i = 0; s.length < 4 * MB; i++) s += `user${i} <u${i}@example${i % 97}.test>, `;
  return `${s}last@example.net`;
};
const addressTask = (value: string) => prepare({ value, token: 1, part: 'all', delimiters: '+', type: 'contains', comparator: 'i;ascii-casemap', keys: ['nowhere'], wantCaptures: false });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the match workers\' memory', () => {
  it('stops a task that outgrows a worker\'s heap, answers that it ran out of memory, and serves the next task with a fresh thread', async () => {
    const pool = poolWithHeap(16);
    const a = await pool.address(addressTask(bigFrom()), 60_000);
    expect(a.kind).toBe('memory');
    // Not "unavailable": that answer would send the same parse to the event loop.
    const next = await pool.match(prepare({ type: 'contains', comparator: 'i;octet', keys: ['papaya'], value: `${'a'.repeat(OFFLOAD_CHARS)}papaya`, wantCaptures: false }), 60_000);
    expect(next).toMatchObject({ kind: 'done', index: 0 });
  }, 120_000);

  it('gives the dearest task of a default-sized message, the address test over a 10 MiB From, room in the default heap', async () => {
    let s = '';
    for (let i = 0; s.length < 10 * MB; i++) s += `user${i} <u${i}@example${i % 97}.test>, `;
    const a = await poolWithHeap(WORKER_HEAP_MB).address(addressTask(s), 120_000);
    expect(a).toMatchObject({ kind: 'done', index: -1 });
  }, 180_000);

  it('fails the run with a runtime error when its match, address test or header decoding ran out of a worker\'s heap', async () => {
    const memory = { kind: 'memory' as const, ms: 1 };
    vi.spyOn(matchPool, 'match').mockResolvedValue(memory);
    vi.spyOn(matchPool, 'address').mockResolvedValue(memory);
    vi.spyOn(matchPool, 'codec').mockResolvedValue(memory);
    const large = 'x'.repeat(OFFLOAD_CHARS);
    const message = parseMessage(`From: (${large}) joe@example.com\r\nSubject: =?utf-8?q?${'a'.repeat(OFFLOAD_CHARS)}?=\r\nX-Big: ${large}\r\n\r\nbody\r\n`);
    const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
    for (const test of ['header :contains "x-big" "papaya"', 'address :all :contains "from" "papaya"', 'header :contains "subject" "papaya"']) {
      const r = await executeAsync(compiled(`if ${test} { keep; }`), { message, envelope });
      expect(r.errors.map((e) => e.message), test).toEqual([expect.stringMatching(new RegExp(`^a match over \\d+ characters needed more than the ${WORKER_HEAP_MB} MiB a match worker may use$`))]);
    }
  });
});
