/** The MAIL FROM BY parameter (RFC 2852): parsing, refusals, and the value passed on. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatByParameter, parseByParameter } from '../../src/session/deliver-by.js';

const NOW = Date.UTC(2026, 0, 1);

describe('BY parameter', () => {
  it('reads <seconds>;<mode>[T] as a deadline from now, and formats it back the same', () => {
    fc.assert(
      fc.property(fc.integer({ min: -999_999_999, max: 999_999_999 }), fc.constantFrom('N', 'R', 'n', 'r'), fc.boolean(), (seconds, mode, trace) => {
        const text = `${seconds};${mode}${trace ? 'T' : ''}`;
        const p = parseByParameter(text, NOW);
        if (mode.toUpperCase() === 'R' && seconds <= 0) {
          expect(p).toMatchObject({ reply: { code: 501, enhanced: '5.5.4' } });
          return;
        }
        if (!('deliverBy' in p)) throw new Error(`refused ${text}`);
        expect(p.deliverBy).toEqual({ deadline: NOW + seconds * 1000, mode: mode.toUpperCase() === 'R' ? 'return' : 'notify', trace });
        expect(formatByParameter(p.deliverBy, NOW)).toBe(`${seconds};${mode.toUpperCase()}${trace ? 'T' : ''}`);
      }),
    );
  });

  it('refuses anything else with 501 5.5.4, and never throws', () => {
    for (const bad of ['', '10', '10;', '10;X', '1234567890;N', 'ten;R', '10;RT;', '10 ;R', '+-1;N']) {
      expect(parseByParameter(bad, NOW), bad).toMatchObject({ reply: { code: 501, enhanced: '5.5.4' } });
    }
    fc.assert(fc.property(fc.string({ maxLength: 20 }), (s) => void parseByParameter(s, NOW)));
  });

  it('gives a hop the time left, not the time given', () => {
    const p = parseByParameter('600;R', NOW);
    if (!('deliverBy' in p)) throw new Error('refused');
    expect(formatByParameter(p.deliverBy, NOW + 90_500)).toBe('509;R');
  });
});
