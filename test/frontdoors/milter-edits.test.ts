/**
 * The header requests a milter sends (src/frontdoors/milter/milter-edits.ts):
 * carried out as an MTA carries them out (MILTER_README; Postfix's
 * cleanup_milter.c reading of SMFIR_CHGHEADER, SMFIR_INSHEADER and
 * SMFIR_ADDHEADER), they turn the header the MTA has into the header the
 * policy made.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MilterResponse } from '../../src/frontdoors/milter/messages.js';
import { type HeaderField, headerEdits, headerFields } from '../../src/frontdoors/milter/milter-edits.js';

/** The requests carried out in order on `fields`, as the MTA does. */
function carryOut(fields: HeaderField[], requests: MilterResponse[]): HeaderField[] {
  const out = fields.map((f) => ({ ...f }));
  for (const r of requests) {
    if (r.kind === 'chgheader') {
      // The index-th field of that name (from 1, names compared without case); an empty value deletes it.
      let seen = 0;
      const at = out.findIndex((f) => f.name.toLowerCase() === r.name.toLowerCase() && ++seen === r.index);
      expect(at).toBeGreaterThanOrEqual(0);
      if (r.value === '') out.splice(at, 1);
      else out[at] = { name: out[at]!.name, value: r.value };
    } else if (r.kind === 'insheader') out.splice(r.index, 0, { name: r.name, value: r.value });
    else if (r.kind === 'addheader') out.push({ name: r.name, value: r.value });
    else throw new Error(`not a header request: ${r.kind}`);
  }
  return out;
}

/** What the comparison keeps of a field: its name without case, its value without surrounding space, LF line ends. */
const same = (fields: HeaderField[]) => fields.map((f) => `${f.name.toLowerCase()}:${f.value.replace(/\r\n/g, '\n').trim()}`);

const field: fc.Arbitrary<HeaderField> = fc.record({
  name: fc.constantFrom('Received', 'received', 'From', 'Subject', 'X-Spam', 'DKIM-Signature'),
  value: fc.constantFrom(' a', ' b', ' a ', ' c\r\n\td', ' '),
});

describe('milter header requests', () => {
  it('property: carried out on the header the MTA sent, they give the header the policy made', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 12 }), fc.array(field, { maxLength: 12 }), (before, after) => {
        const requests = headerEdits(before, after, true)!;
        expect(same(carryOut(before, requests))).toEqual(same(after));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a field added on top, or deleted, or both, is one request each, the rest left alone', () => {
    fc.assert(
      fc.property(fc.array(field, { maxLength: 12 }), field, fc.nat(), (before, added, n) => {
        const on = [added, ...before];
        expect(headerEdits(before, on, true)!.length).toBeLessThanOrEqual(1);
        if (!before.length) return;
        const without = before.filter((_, i) => i !== n % before.length);
        expect(headerEdits(before, without, true)).toHaveLength(1);
      }),
      { numRuns: 500 },
    );
  });

  it('the field added on top of a message is inserted at 0; one added at the end is appended; one dropped is deleted by its index', () => {
    const before = headerFields('Received: x\r\nFrom: a@b\r\nReceived: y\r\nSubject: s\r\n\r\nbody\r\n');
    expect(headerEdits(before, [{ name: 'X-Spam', value: ' no' }, ...before], true)).toEqual([{ kind: 'insheader', index: 0, name: 'X-Spam', value: ' no' }]);
    expect(headerEdits(before, [...before, { name: 'X-Spam', value: ' no' }], false)).toEqual([{ kind: 'addheader', name: 'X-Spam', value: 'no' }]);
    expect(headerEdits(before, before.filter((f) => f.value !== ' y'), true)).toEqual([{ kind: 'chgheader', index: 2, name: 'Received', value: '' }]);
  });
});
