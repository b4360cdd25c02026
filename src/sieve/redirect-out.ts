/**
 * The message a recorded redirect action sends (RFC 5228 4.2), as a host
 * sends it, with Pigeonhole's safeguards: an X-Sieve-Redirected-From field
 * naming the user, no redirect of a message that already carries it for
 * this user (a loop), and the envelope sender the host chooses
 * (sieve_redirect_envelope_from: sender, recipient, orig_recipient,
 * user_email, <address> or <>); a message from the null sender keeps it.
 */
import { formatAddress, parseEnvelopePath } from './runtime/address.js';
import { headerValues, type SieveMessage } from './runtime/message.js';
import type { Envelope } from './runtime/host.js';

export interface OutgoingMessage {
  envelope: Envelope;
  text: string;
}

const norm = (path: string | undefined) => {
  const a = path === undefined ? undefined : parseEnvelopePath(path);
  return a ? formatAddress(a) : undefined;
};

/** The redirected message, or null when it would loop. */
export function composeRedirect(
  to: string,
  message: SieveMessage,
  envelope: Envelope,
  setting: (name: string) => string | undefined = () => undefined,
): OutgoingMessage | null {
  const recipient = norm(envelope.to[0]);
  const user = norm(setting('sieve_user_email')) ?? recipient;
  // Loop: this user (or this recipient) already redirected this message once.
  const seen = headerValues(message, 'x-sieve-redirected-from').map((v) => norm(v.trim())?.toLowerCase());
  if ([user, recipient].some((a) => a && seen.includes(a.toLowerCase()))) return null;

  const sender = parseEnvelopePath(envelope.from);
  let from = sender ? formatAddress(sender) : '';
  const how = (setting('sieve_redirect_envelope_from') ?? 'sender').trim().toLowerCase();
  if (sender) {
    if (how === 'recipient') from = recipient ?? from;
    else if (how === 'orig_recipient') from = norm(envelope.origTo) ?? recipient ?? from;
    else if (how === 'user_email') from = user ?? from;
    else if (how.startsWith('<')) from = norm(how) ?? '';
  }
  const header = user ? `X-Sieve-Redirected-From: ${user}\r\n` : '';
  return { envelope: { from, to: [to] }, text: header + message.raw };
}
