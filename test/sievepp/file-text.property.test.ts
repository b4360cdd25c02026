/**
 * The two ways a datasource driver reads a file's text
 * (src/sievepp/file-text.ts) give the same text for the same octets: a
 * file held whole (csv:, cdb:'s values) and one read a chunk at a time
 * (iowrapper:, rbldnsd), however it is cut, with and without
 * assume_charset. Octets are drawn to mix valid UTF-8, sequences cut
 * between chunks, and octets that make a file ISO-8859-1.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { assumedDecoder, chunkText, readAsText, wholeText } from '../../src/sievepp/file-text.js';

const text = fc.string({ unit: fc.oneof(fc.constant('é'), fc.constant('€'), fc.constant('😀'), fc.constant('\uFEFF'), fc.string({ maxLength: 1 })) });
/** Mostly valid UTF-8; sometimes one stray octet that no UTF-8 text holds. */
const octets = fc.tuple(text, fc.option(fc.tuple(fc.nat(), fc.integer({ min: 0x80, max: 0xff })), { freq: 3 })).map(([t, stray]) => {
  const b = Buffer.from(t, 'utf8');
  if (!stray) return b;
  const at = b.length ? stray[0] % b.length : 0;
  return Buffer.concat([b.subarray(0, at), Buffer.from([stray[1]]), b.subarray(at)]);
});

/** The file's text read a chunk of `size` octets at a time, as iowrapper: and rbldnsd read it. */
const chunked = (bytes: Buffer, size: number, charset: string | undefined) =>
  readAsText(charset, async (decoder) => {
    let out = '';
    for (let at = 0; at < bytes.length || at === 0; at += size) {
      const more = at + size < bytes.length;
      out += chunkText(decoder, bytes.subarray(at, at + size), more);
      if (!more) break;
    }
    return out;
  });

describe('a file read whole and read in chunks', () => {
  it('is the same text, UTF-8 when it all is and ISO-8859-1 otherwise', async () => {
    await fc.assert(
      fc.asyncProperty(octets, fc.integer({ min: 1, max: 7 }), async (bytes, size) => {
        const whole = wholeText(bytes, assumedDecoder(undefined));
        expect(await chunked(bytes, size, undefined)).toBe(whole);
        expect(whole).toBe(Buffer.from(whole, 'utf8').equals(bytes) ? bytes.toString('utf8') : bytes.toString('latin1'));
      }),
    );
  });

  it('is the same text in the assumed charset', async () => {
    await fc.assert(
      fc.asyncProperty(octets, fc.integer({ min: 1, max: 7 }), fc.constantFrom('iso-8859-1', 'utf-8', 'shift_jis', 'iso-2022-jp'), async (bytes, size, charset) => {
        expect(await chunked(bytes, size, charset)).toBe(wholeText(bytes, assumedDecoder(charset)));
      }),
    );
  });
});
