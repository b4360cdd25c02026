/**
 * uncheckable (src/auth/checks.ts): which messages are kept from mailauth.
 * Its field scan must find a From field's length as RFC 5322 2.2's
 * unfolding does: the property test compares it with a plain reference
 * over generated header sections.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FROM_LIMIT, MAX_DKIM_SIGNATURES, uncheckable } from '../../src/auth/checks.js';

/** The reference: fields split where a line does not start with WSP; a From field's octets from its name to the end of its last line's break. */
function reference(head: string): string | undefined {
  const fields: string[] = [];
  for (const line of head.split(/(?<=\n)/)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length) fields[fields.length - 1] += line;
    else fields.push(line);
  }
  return fields.some((f) => /^from:/i.test(f) && Buffer.byteLength(f, 'latin1') >= FROM_LIMIT) ? 'From field too large to check' : undefined;
}

describe('uncheckable', () => {
  it('finds a From field of FROM_LIMIT octets or more as unfolding does (property)', () => {
    const line = fc.oneof(
      fc.constantFrom('From: a@b.example', 'FROM:x', 'from:', 'Subject: s', 'X-From: y', 'Fromage: z'),
      fc.tuple(fc.constantFrom(' ', '\t'), fc.integer({ min: 0, max: 30_000 })).map(([ws, n]) => `${ws}${'x'.repeat(n)}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.constantFrom('\r\n', '\n'), (lines, eol) => {
        const head = lines.map((l) => `${l}${eol}`).join('') + eol;
        expect(uncheckable(Buffer.from(head, 'latin1'), head.length, 1 << 20)).toBe(reference(head));
      }),
      { numRuns: 300 },
    );
  });

  it('is a message with more than MAX_DKIM_SIGNATURES signatures, however the field name is spelt', () => {
    const sig = (name: string) => `${name}: v=1; a=rsa-sha256; d=example.com; s=s; l=1; h=from; bh=x; b=y\r\n`;
    const head = (n: number, name = 'DKIM-Signature') => Buffer.from(`${Array.from({ length: n }, () => sig(name)).join('')}From: a@b\r\n\r\n`);
    expect(uncheckable(head(MAX_DKIM_SIGNATURES), 1000, 1 << 20)).toBeUndefined();
    expect(uncheckable(head(MAX_DKIM_SIGNATURES + 1), 1000, 1 << 20)).toBe(`too many DKIM signatures to check (${MAX_DKIM_SIGNATURES + 1}, at most ${MAX_DKIM_SIGNATURES})`);
    expect(uncheckable(head(MAX_DKIM_SIGNATURES + 1, 'dkim-signature \t'), 1000, 1 << 20)).toMatch(/^too many DKIM signatures/);
    // A folded line that mentions the name is not a field.
    expect(uncheckable(Buffer.from(`${sig('DKIM-Signature')}${' DKIM-Signature: x\r\n'.repeat(20)}\r\n`), 1000, 1 << 20)).toBeUndefined();
  });

  it('is the header section past the host limit, or a message without one past it', () => {
    expect(uncheckable(Buffer.from('From: a@b\r\n\r\n'), 100, 10)).toBe('header section too large to check');
    expect(uncheckable(undefined, 11, 10)).toBe('header section too large to check');
    expect(uncheckable(undefined, 10, 10)).toBeUndefined();
  });
});
