/**
 * For tests that bound how much of a header value is RFC 2047 decoded:
 * the longest value libmime was asked to decode while `fn` ran, through
 * either of its builds, the ESM one (imported) and the CommonJS one
 * (src/sieve/runtime/libmime.ts loads it with require). At least one
 * decode must happen, so that a bound is never met by decoding nothing.
 */
import libmimeModule from 'libmime';
import { expect, vi } from 'vitest';
import { libmime } from '../../src/sieve/runtime/libmime.js';

export async function longestDecoded(fn: () => unknown): Promise<number> {
  const spies = [...new Set([libmimeModule, libmime()])].map((m) => vi.spyOn(m, 'decodeWords'));
  try {
    await fn();
    const lengths = spies.flatMap((s) => s.mock.calls.map(([v]) => String(v).length));
    expect(lengths.length).toBeGreaterThan(0);
    return Math.max(...lengths);
  } finally {
    for (const s of spies) s.mockRestore();
  }
}
