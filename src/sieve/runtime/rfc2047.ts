/**
 * RFC 2047 encoded-words in header values, through libmime: the decoding
 * every test that reads a header's value does (RFC 5228 2.7.2), and the
 * encoding Sieve++'s ec_rfc2047_encode_header gives. Each is one libmime
 * call over the whole value, which cannot be split into slices (libmime
 * joins adjacent encoded-words before decoding them, and encodes the span
 * from the first to the last character that needs it): a large value is
 * done in a worker thread instead (header-codec.ts), with these same
 * functions, so the result is the same wherever it is computed.
 */
import { libmime } from './libmime.js';

/**
 * The value the header test compares (RFC 5228 5.7): leading and trailing
 * whitespace removed, RFC 2047 encoded-words decoded (RFC 5228 2.7.2).
 */
export function decodedHeaderValue(value: string): string {
  const v = value.trim();
  if (!v.includes('=?')) return v;
  try {
    return libmime().decodeWords(v);
  } catch {
    return v;
  }
}

/**
 * The start of the decoded value, at least its first `keep` characters
 * when it has them, for a reply's Subject or a notification's text, which
 * keep only that much: decoding a 10 MB Subject to keep 256 characters held
 * every session one to two seconds. Only a start of the raw value is
 * decoded: an encoded-word is at most 75 characters (RFC 2047 section 2)
 * and gives at least one, so `keep` x 80 characters are enough. The cut is
 * made at whitespace, which separates encoded-words (RFC 2047 section 5),
 * so none is split; a value without whitespace there is cut where it is.
 */
export function decodedHeaderStart(value: string, keep: number): string {
  const limit = keep * 80 + 1024;
  if (value.length <= limit) return decodedHeaderValue(value);
  const space = Math.max(value.lastIndexOf(' ', limit), value.lastIndexOf('\t', limit), value.lastIndexOf('\n', limit));
  return decodedHeaderValue(value.slice(0, space > 0 ? space : limit));
}

const NON_ASCII = /[^\x00-\x7f]/;

/** True when the value has a character outside ASCII, which encodedHeaderValue encodes. */
export const needsEncoding = (value: string): boolean => NON_ASCII.test(value);

/**
 * Words with characters outside ASCII as Q encoded-words (RFC 2047 4.2),
 * the rest as it is. A value all ASCII is libmime's answer unchanged, found
 * with one scan rather than libmime's conversion of the whole value to
 * UTF-8 and back (75 ms for 10 MB).
 */
export const encodedHeaderValue = (value: string): string => (needsEncoding(value) ? libmime().encodeWords(value, 'Q') : value);

/**
 * Unstructured text for a header field we write (an added field's value)
 * as UTF-8 Q encoded-words where it is not ASCII (RFC 2047 4.2, 5 (1)),
 * each short enough for the field to be folded between them (RFC 5322
 * 2.1.1).
 */
export const encodedWords = (text: string): string => libmime().encodeWords(text, 'Q', 52, 'utf-8');

/**
 * A phrase (a display name) as UTF-8 Q encoded-words, all of it: in a
 * phrase the words beside an encoded-word must be atoms (RFC 2047 5 (3)),
 * and encodedWords would leave ASCII specials such as "(" beside it, which
 * a reader takes for a comment. libmime writes in a word only letters,
 * digits and "!*+-/=", as 5 (3) allows, the rest as =XX.
 */
export const encodedPhrase = (text: string): string => libmime().encodeWord(text, 'Q', 52);
