/**
 * The reply to RCPT TO for any verdict (src/session/recipient-verification.ts,
 * docs/recipient-verification.md): permanent only where the next hop said
 * 5xx to RCPT TO or the recipient domain's own DNS refused, never for a
 * next hop that could not be asked; and always one safe reply line,
 * whatever text the next hop sent.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { STATUS_OF, type CbvReason, type Verdict } from '../../src/cbv/types.js';
import { refusalFor } from '../../src/session/recipient-verification.js';

const reasons = Object.keys(STATUS_OF) as CbvReason[];
const PERMANENT_BY_DNS = new Set<CbvReason>(['null-mx', 'nxdomain', 'no-address', 'no-allowed-target']);

const verdicts = fc.record({
  reason: fc.constantFrom(...reasons),
  reply: fc.option(fc.string({ maxLength: 600 }).map((t) => `550 ${t.replace(/[^\x20-\x7e]/g, '?')}`), { nil: undefined }),
  cached: fc.boolean(),
}).map(({ reason, reply, cached }): Verdict => ({
  status: STATUS_OF[reason],
  result: null,
  stage: 'rcpt',
  reason,
  address: 'rcpt@dest.test',
  sender: '',
  message: reply ?? reason,
  cached,
  durationMs: 0,
  transcript: [],
  ...(reply !== undefined ? { reply } : {}),
}));

describe('the reply to RCPT TO for a call-ahead verdict', () => {
  it('is 5xx only for the next hop\'s 5xx or the domain\'s own DNS, 451 for every transient verdict, one bounded line', () => {
    fc.assert(
      fc.property(verdicts, (v) => {
        const r = refusalFor(v);
        if (v.status === 'pass') expect(r).toBeUndefined();
        if (v.status === 'transient') expect(r).toMatchObject({ code: 451, enhanced: expect.stringMatching(/^4\.4\.\d$/) });
        if (r && r.code >= 500) expect(v.status === 'fail' || PERMANENT_BY_DNS.has(v.reason)).toBe(true);
        if (v.status === 'fail') expect(r).toMatchObject({ code: 550, enhanced: '5.1.1' });
        if (r) {
          expect(r.text).not.toMatch(/[\r\n]/);
          expect(r.text.length).toBeLessThan(400);
        }
      }),
    );
  });
});
