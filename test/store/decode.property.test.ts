/**
 * What comes back from Redis is input like any other (another program's
 * keys, a truncated value, a hostile publisher on the channel): the
 * decoders never throw, and whatever they accept is a verdict the engine
 * knows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STATUS_OF } from '../../src/cbv/types.js';
import { parseVerdict } from '../../src/store/redis-flights.js';
import { parseEntry } from '../../src/store/shared-cbv-store.js';

const reasons = Object.keys(STATUS_OF);
const jsonish = fc.oneof(
  fc.string(),
  fc.json(),
  fc.record({ reason: fc.oneof(fc.constantFrom(...reasons), fc.string()), stage: fc.oneof(fc.constant('rcpt'), fc.integer()), message: fc.oneof(fc.string(), fc.constant(null)), expiresAt: fc.oneof(fc.integer(), fc.string()), status: fc.string() }).map((o) => JSON.stringify(o)),
);

describe('decoding what Redis hands back', () => {
  it('a published verdict is either refused or names a known reason', () => {
    fc.assert(
      fc.property(jsonish, (text) => {
        const v = parseVerdict(text);
        if (v) expect(reasons).toContain(v.reason);
      }),
    );
  });

  it('a cache entry is either refused or has a known reason and an expiry time', () => {
    fc.assert(
      fc.property(jsonish, (text) => {
        const e = parseEntry(text);
        if (e) {
          expect(reasons).toContain(e.reason);
          expect(typeof e.expiresAt).toBe('number');
        }
      }),
    );
  });

  it('round-trips what the store writes', () => {
    const entry = { reason: 'accepted' as const, stage: 'rcpt' as const, message: '250 ok', storedAt: 1, expiresAt: 2 };
    expect(parseEntry(JSON.stringify(entry))).toEqual(entry);
    const verdict = { status: 'fail' as const, reason: 'rejected' as const, stage: 'rcpt' as const, message: '550 no' };
    expect(parseVerdict(JSON.stringify(verdict))).toEqual(verdict);
  });
});
