/**
 * Octets as text in a named character set, the same whether they come whole
 * or in pieces, and the same on every Node version.
 *
 * Node's TextDecoder follows the WHATWG Encoding Standard, which reads the
 * labels iso-8859-1, latin1, us-ascii and their aliases as windows-1252,
 * as mail readers do (a part labelled ISO-8859-1 with octets in 0x80-0x9F
 * is windows-1252 text), and as libmime reads the same names in encoded
 * words (RFC 2047, rfc2047.ts). But Node 20 decodes windows-1252 without
 * stream mode as ISO 8859-1 (each octet its own code point), and in stream
 * mode by windows-1252's table (0x80 is U+20AC):
 * a part decoded whole and the same part decoded in pieces differed. Here
 * windows-1252 is always decoded in stream mode, by its table; every other
 * charset in stream mode where a character may span two pieces.
 */

/** The charsets whose characters may take several octets (a piece may end inside one), and windows-1252 (above). */
const IN_STREAM_MODE = new Set(['windows-1252', 'utf-8', 'utf-16le', 'utf-16be', 'gbk', 'gb18030', 'big5', 'euc-jp', 'iso-2022-jp', 'shift_jis', 'euc-kr']);

export interface CharsetDecoder {
  /** The charset's name, as the WHATWG Encoding Standard names it. */
  readonly encoding: string;
  /** The text of the next piece of octets; `more`: pieces follow (a character cut at its end waits for them). */
  decode(octets: Uint8Array, more: boolean): string;
}

/** The charset `label` names (case and surrounding white space ignored), as the WHATWG Encoding Standard names it; undefined for a name it does not know. */
export function charsetName(label: string): string | undefined {
  try {
    return new TextDecoder(label).encoding;
  } catch {
    return undefined;
  }
}

/**
 * A decoder for `label`; throws a RangeError for a name it does not know.
 * `fatal`: octets that are not text in the charset throw a TypeError;
 * `ignoreBOM`: a byte order mark stays text.
 */
export function charsetDecoder(label: string, options: { fatal?: boolean; ignoreBOM?: boolean } = {}): CharsetDecoder {
  let decoder = new TextDecoder(label, options);
  const inPieces = (octets: Uint8Array, more: boolean) => decoder.decode(octets, { stream: true }) + (more ? '' : decoder.decode());
  return {
    encoding: decoder.encoding,
    decode: !IN_STREAM_MODE.has(decoder.encoding)
      ? (octets) => decoder.decode(octets)
      : options.fatal
        ? inPieces
        : (octets, more) => {
            try {
              return inPieces(octets, more);
            } catch {
              // ICU's gb18030 and iso-2022-jp decoders throw in stream mode, though not fatal, when a
              // sequence begun in one piece is broken in the next, which read whole is a replacement
              // character: one for what the decoder held, and a new decoder from this piece on.
              decoder = new TextDecoder(label, options);
              return `\uFFFD${inPieces(octets, more)}`;
            }
          },
  };
}
