/**
 * Mail loop detection (Momentum's mail_loop module, docs/server.md "Mail
 * loops"): RFC 5321 6.3, a message that has passed through more relays
 * than any path needs (each adds a Received field, RFC 5321 4.4) is taken
 * for one going round in a loop. Refused at DATA, the loop ends with a
 * bounce from the MTA that sent it, not with the message growing on every
 * pass until something else refuses it.
 */
import { HEAD_LIMIT, type MessageSource } from './message-source.js';
import type { Reply } from './reply.js';
import { fieldNameAt } from '../field-name.js';

export interface MailLoopSettings {
  /** More Received fields than this is a loop. */
  maxReceivedHeaders: number;
  /** The reply; a code below 400 accepts the message and sets `mail_loop_header_count` for the scripts. */
  code: number;
}

/** The Received fields of a header section (RFC 5322 3.6.7). */
export function receivedFields(head: Buffer): number {
  let n = 0;
  for (let pos = 0; pos < head.length; ) {
    let end = head.indexOf(0x0a, pos);
    if (end < 0) end = head.length;
    if (fieldNameAt(head, pos, end) === 'received') n++;
    pos = end + 1;
  }
  return n;
}

/**
 * The Received fields of a message past the limit, with the reply when the
 * code refuses it (4xx, 5xx); undefined when it is within the limit. A
 * header section too long to be kept apart (HEAD_LIMIT) is counted in its
 * first HEAD_LIMIT octets: a loop passes any limit long before that.
 */
export function suspectedLoop(settings: MailLoopSettings, source: MessageSource): { received: number; reply?: Reply } | undefined {
  const head = source.head ?? source.range?.(0, Math.min(source.size, HEAD_LIMIT)) ?? source.bytes().subarray(0, HEAD_LIMIT);
  const received = receivedFields(head);
  if (received <= settings.maxReceivedHeaders) return undefined;
  return settings.code >= 400 ? { received, reply: loopReply(settings.code, received, settings.maxReceivedHeaders) } : { received };
}

/** The refusal: RFC 3463 X.4.6, routing loop detected. */
function loopReply(code: number, found: number, max: number): Reply {
  const cls = Math.floor(code / 100);
  return { code, enhanced: `${cls}.4.6`, text: `Routing loop detected: ${found} Received header fields, at most ${max}` };
}
