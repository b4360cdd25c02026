/** RFC 5260 4.2 date parts, as the date and currentdate tests compare them. */
import { describe, expect, it } from 'vitest';
import { datePart } from '../../../src/sieve/runtime/datetime.js';

const at = (iso: string, offset: number) => ({ utc: Date.parse(iso), offset });

describe('datePart', () => {
  it('writes iso8601 with a zero offset as "Z", not "+00:00" (RFC 5260 4.2)', () => {
    expect(datePart(at('2007-02-26T14:00:00Z', 0), 'iso8601')).toBe('2007-02-26T14:00:00Z');
  });

  it('writes any other offset with its sign and a colon (RFC 3339 5.6)', () => {
    expect(datePart(at('2007-02-26T14:00:00Z', -300), 'iso8601')).toBe('2007-02-26T09:00:00-05:00');
    expect(datePart(at('2007-02-26T14:00:00Z', 330), 'iso8601')).toBe('2007-02-26T19:30:00+05:30');
  });

  it('keeps "+0000" for the zone part, where a zero offset has a positive sign (RFC 5260 4.2)', () => {
    expect(datePart(at('2007-02-26T14:00:00Z', 0), 'zone')).toBe('+0000');
    expect(datePart(at('2007-02-26T14:00:00Z', 0), 'std11')).toBe('Mon, 26 Feb 2007 14:00:00 +0000');
  });
});
