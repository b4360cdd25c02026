/**
 * A charset reads the same octets as the same text whole and cut anywhere
 * (src/sieve/runtime/charset.ts), on every Node version: windows-1252 and
 * the names the WHATWG Encoding Standard reads as it (iso-8859-1, latin1,
 * us-ascii) by windows-1252's table, as libmime reads them in encoded
 * words. On Node 20, TextDecoder read windows-1252 whole as ISO 8859-1 and
 * in stream mode by its table, so a part's 0x80 was U+0080 or U+20AC
 * depending on how its octets arrived.
 */
import libmime from 'libmime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { charsetDecoder, charsetName } from '../../../src/sieve/runtime/charset.js';

const labels = ['iso-8859-1', 'ISO-8859-1', ' latin1 ', 'us-ascii', 'windows-1252', 'cp1252', 'utf-8', 'utf-16le', 'shift_jis', 'big5', 'euc-kr', 'koi8-r', 'iso-8859-2'];

/** `octets` decoded a piece at a time, cut at `cuts`. */
function inPieces(label: string, octets: Uint8Array, cuts: number[]): string {
  const d = charsetDecoder(label);
  const at = [...new Set(cuts.map((c) => c % (octets.length + 1)))].sort((a, b) => a - b);
  let text = '';
  let from = 0;
  for (const cut of at) {
    text += d.decode(octets.subarray(from, cut), true);
    from = cut;
  }
  return text + d.decode(octets.subarray(from), false);
}

describe('charsetDecoder', () => {
  it('gives the same text whole and in pieces, for any octets and any cuts', () => {
    fc.assert(
      fc.property(fc.constantFrom(...labels), fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 8 }), (label, octets, cuts) => {
        expect(inPieces(label, octets, cuts)).toBe(charsetDecoder(label).decode(octets, false));
      }),
      { numRuns: 2000 },
    );
  });

  it('reads windows-1252 and the names read as it by its table, whole as in pieces', () => {
    const octets = Uint8Array.from([0x80, 0x93, 0x94, 0x9f, 0xe9]);
    for (const label of ['windows-1252', 'CP1252', 'iso-8859-1', 'Latin1', 'us-ascii']) {
      expect(charsetDecoder(label).decode(octets, false)).toBe('€“”Ÿé');
      expect(inPieces(label, octets, [1, 3])).toBe('€“”Ÿé');
    }
  });

  it('reads a single-octet charset as libmime reads it in an encoded word', () => {
    fc.assert(
      // But for the five octets windows-1252 leaves out (0x81, 0x8D, 0x8F, 0x90, 0x9D): the WHATWG table keeps them as C1 controls, libmime replaces them.
      fc.property(fc.constantFrom('iso-8859-1', 'windows-1252', 'iso-8859-2', 'koi8-r'), fc.uint8Array({ minLength: 1, maxLength: 30 }).filter((o) => !o.some((x) => [0x81, 0x8d, 0x8f, 0x90, 0x9d].includes(x))), (label, octets) => {
        const word = `=?${label}?B?${Buffer.from(octets).toString('base64')}?=`;
        expect(charsetDecoder(label).decode(octets, false)).toBe(libmime.decodeWords(word));
      }),
    );
  });

  it('reads a gb18030 or iso-2022-jp sequence broken between two pieces without throwing, the text around it kept', () => {
    // ICU throws in stream mode there (charset.ts); read whole, the broken sequence is a replacement character.
    expect(inPieces('gb18030', Uint8Array.from([0x41, 0x81, 0x30, 0x00]), [3])).toBe('A\uFFFD\u0000');
    expect(new TextDecoder('gb18030').decode(Uint8Array.from([0x41, 0x81, 0x30, 0x00]))).toBe('A\uFFFD0\u0000');
    fc.assert(
      fc.property(fc.constantFrom('gb18030', 'iso-2022-jp'), fc.uint8Array({ maxLength: 40 }), fc.array(fc.nat(), { maxLength: 8 }), (label, octets, cuts) => {
        const text = inPieces(label, octets, cuts);
        // Never more characters than octets, every one of them read: nothing thrown, nothing held back.
        expect(text.length).toBeLessThanOrEqual(octets.length + cuts.length);
        if (octets.every((o) => o < 0x80 && ![0x0e, 0x0f, 0x1b].includes(o))) expect(text).toBe(Buffer.from(octets).toString('latin1'));
      }),
      { numRuns: 3000 },
    );
  });

  it('names charsets as the WHATWG Encoding Standard does, and nothing for an unknown name', () => {
    expect(charsetName('ISO-8859-1')).toBe('windows-1252');
    expect(charsetName('Windows-1252')).toBe('windows-1252');
    expect(charsetName('iso-2022-jp')).toBe('iso-2022-jp');
    expect(charsetName('x-no-such-charset')).toBeUndefined();
    expect(() => charsetDecoder('x-no-such-charset')).toThrow(RangeError);
  });

  it('throws for octets that are not text when fatal, at the end of the last piece', () => {
    const d = charsetDecoder('utf-8', { fatal: true });
    expect(d.decode(Uint8Array.from([0xe2, 0x82]), true)).toBe('');
    expect(() => d.decode(new Uint8Array(0), false)).toThrow(TypeError);
  });
});
