/**
 * The text of the messages a host composes from a received one (a vacation
 * reply, vacation-reply.ts; a notification, notify-out.ts), which keep only
 * the start of what they quote: the same cut, in one place.
 */

/** Pigeonhole's SIEVE_MAX_SUBJECT_HEADER_CODEPOINTS: a composed Subject keeps at most this many characters. */
export const MAX_SUBJECT = 256;

/**
 * `text` cut to at most `max` characters (code points, so no surrogate pair
 * is split), an ellipsis as the last of them when it was cut; as it is
 * otherwise.
 */
export function cutWithEllipsis(text: string, max = MAX_SUBJECT): string {
  const chars = Array.from(text);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}\u2026` : text;
}
