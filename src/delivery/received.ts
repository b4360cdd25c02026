/**
 * The Received: trace header we add to every accepted message
 * (RFC 5321 4.4, RFC 5322 3.6.7), and the Date and Message-ID of the
 * messages the server composes itself (RFC 5322 3.6: every message has both).
 */
import { randomBytes } from 'node:crypto';

/** What the header says of the client. */
export interface ReceivedFrom {
  helo?: string;
  esmtp?: boolean;
  tls: boolean;
  user?: string;
  remoteAddress: string;
}

export function receivedHeader(client: ReceivedFrom, recipients: readonly string[], hostname: string, id: string, now = new Date()): string {
  // RFC 3848 protocol names: ESMTP, plus S for TLS and A for authenticated.
  const protocol = `${client.esmtp === false ? 'SMTP' : 'ESMTP'}${client.tls ? 'S' : ''}${client.user ? 'A' : ''}`;
  const from = `from ${sanitize(client.helo ?? 'unknown')} ([${client.remoteAddress}])`;
  const forPart = recipients.length === 1 ? `\r\n\tfor <${sanitize(recipients[0]!)}>` : '';
  return `Received: ${from}\r\n\tby ${hostname} (smtp-cbv) with ${protocol} id ${id}${forPart};\r\n\t${rfc5322Date(now)}\r\n`;
}

/** Client-supplied text in a header must not break the header: no control characters, no angle brackets. */
function sanitize(value: string): string {
  return value.replace(/[\x00-\x1f\x7f<>]/g, '');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 3.3 date-time, in UTC. */
export function rfc5322Date(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** A new Message-ID (RFC 5322 3.6.4) for a message of this kind (`vacation`, `notify`, `forward`...) that we compose. */
export function newMessageId(hostname: string, kind: string): string {
  return `<${randomBytes(8).toString('hex')}.${kind}@${hostname}>`;
}
