/**
 * What a codec task computes (match/match-pool.ts, `CodecTask`): one call
 * over one header value that cannot be split into time slices, done in the
 * match worker for a large value (runtime/header-codec.ts) and on the event
 * loop otherwise, by the same function here, so the answer is the same
 * wherever it is computed.
 */
import { parseAddressList } from './address.js';
import { decodedHeaderValue, encodedHeaderValue } from './rfc2047.js';

/**
 * The domain of the first address in an address-list header value (Sender,
 * From: RFC 5322 3.6.2), the list parsed whole as the address test parses
 * it (address.ts); "" when it does not parse or has no address. Encoded-words
 * are not decoded first: one may stand only for a word of a phrase or a
 * comment, never in an addr-spec (RFC 2047 section 5), so decoding cannot
 * give an address, only break one: a display name "Müller, Hans" encoded
 * made the list unparsable, and one that decodes to "a@b.example," added an
 * address before the real one. The parse reads the whole list, so it cannot
 * be cut to a start of the value without changing the answer.
 */
export const firstAddressDomain = (value: string): string => parseAddressList(value)?.find((a) => a.domain)?.domain ?? '';

export const CODEC_OPS = {
  'rfc2047-decode': decodedHeaderValue,
  'rfc2047-encode': encodedHeaderValue,
  'first-address-domain': firstAddressDomain,
} satisfies Record<string, (value: string) => string>;

export type CodecOp = keyof typeof CODEC_OPS;
