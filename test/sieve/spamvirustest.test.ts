/**
 * spamtest and virustest (RFC 5235) read a scanner's status header, set up
 * by host settings as Pigeonhole's are (sieve_spamtest_status_header and
 * friends; src/sieve/extensions/spamvirustest.ts). Only the start of that
 * header is decoded and searched: a header of megabytes, which a client can
 * add itself, is not decoded whole on the event loop.
 */
import { describe, expect, it } from 'vitest';
import { longestDecoded } from './longest-decoded.js';
import { holds } from './helpers.js';


const settings = (s: Record<string, string>) => ({ setting: (name: string) => s[name] });
const spamassassin = settings({
  sieve_spamtest_status_header: 'X-Spam-Status: score=(-?[0-9.]+)',
  sieve_spamtest_status_type: 'score',
  sieve_spamtest_score_max_value: '10',
});
const message = (status: string) => `From: joe@example.com\r\nX-Spam-Status: ${status}\r\nSubject: hi\r\n\r\nbody\r\n`;

describe('spamtest', () => {
  it('reads the score a scanner wrote', async () => {
    expect(await holds('"spamtest", "relational", "comparator-i;ascii-numeric"', 'spamtest :value "ge" :comparator "i;ascii-numeric" "7"', { message: message('Yes, score=8.1 required=5.0 tests=BAYES_99'), host: spamassassin })).toBe(true);
    expect(await holds('"spamtest", "relational", "comparator-i;ascii-numeric"', 'spamtest :value "ge" :comparator "i;ascii-numeric" "7"', { message: message('No, score=1.2 required=5.0'), host: spamassassin })).toBe(false);
  });

  it('decodes and searches only the start of a status header of megabytes', async () => {
    const junk = '=?utf-8?Q?tests=3DBAYES=5F99?= '.repeat(70_000); // about 2 MB of encoded-words
    const big = message(`Yes, score=9.5 required=5.0 ${junk}`);
    let held = false;
    const longest = await longestDecoded(async () => (held = await holds('"spamtest", "relational", "comparator-i;ascii-numeric"', 'spamtest :value "ge" :comparator "i;ascii-numeric" "9"', { message: big, host: spamassassin })));
    expect(held).toBe(true);
    expect(longest).toBeLessThanOrEqual(4096 * 80 + 1024);
  });
});
