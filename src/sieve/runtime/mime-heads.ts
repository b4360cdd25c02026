/**
 * The header fields of a part's header section (RFC 2045 3), shared among
 * parts: a message of many parts mostly repeats a few header sections, so
 * a short one seen before is not parsed again. The splitter's adapter to
 * mailsplit keeps what mailsplit made of a section within the same bounds
 * (SHARED_HEAD, SHARED_HEADS).
 */
import { type HeaderField, parseMessage } from './message.js';

/**
 * The header fields of a part's header section. A message of many parts
 * mostly repeats a few header sections (`Content-Type: text/plain`), and
 * every part keeps its fields as long as the tree lives: parts with the
 * same short header section share one frozen list, so a hundred thousand
 * parts are not as many lists of field objects for the garbage collector
 * to copy and mark. Nothing changes a part's fields (editheader edits the
 * message's own, RFC 5293 2).
 */
export function headerFields(head: Buffer): HeaderField[] {
  const text = head.toString('utf8');
  if (head.length > SHARED_HEAD) return parseMessage(text).headers;
  let fields = sharedHeads.get(text);
  if (!fields) {
    if (sharedHeads.size >= SHARED_HEADS) sharedHeads.clear();
    fields = Object.freeze(parseMessage(text).headers) as HeaderField[];
    sharedHeads.set(text, fields);
  }
  return fields;
}

/** Header sections up to this many octets are shared, and this many of them kept (any message's: the same text gives the same fields). */
export const SHARED_HEAD = 512;
export const SHARED_HEADS = 256;
const sharedHeads = new Map<string, HeaderField[]>();
