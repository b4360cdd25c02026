/**
 * The context variables the server sets (docs/sieve-reference.md, "Context
 * variables"). Scripts read them; they cannot write or delete them, so no
 * script can forge what the server observed or what CBV concluded: a
 * literal key is a compile error, a computed one a runtime error.
 * Other keys, including the listener's `Context` values such as
 * `__bypass_smtp_cbv`, stay writable.
 */

/** Keys the connection context (`vctx_conn`) starts with or gains from the client's commands. */
export const CONNECTION_KEYS = [
  'remote_ip',
  'remote_port',
  'local_ip',
  'local_port',
  'tls',
  'auth_status',
  'auth_user',
  'ehlo_domain',
  'ehlo_string',
  'connection_message_count',
  'connection_rcpt_count',
  // Set when a message on the connection looked like a mail loop and mail_loop's code let it in (mail-loop.ts).
  'mail_loop_header_count',
] as const;

/** Keys of the message context (`vctx_mess`) the server fills for each transaction. */
export const MESSAGE_KEYS = ['mailfrom_string', 'mailfrom_localpart', 'mailfrom_domain', 'rcptto_string', 'rcptto_localpart', 'rcptto_domain', 'message_rcpt_count'] as const;

/**
 * What SPF, DKIM, ARC and DMARC found (docs/authentication.md), set before
 * the scripts of the phase that checks them. spf_v1's `context_variable`,
 * when renamed, is the administrator's key and stays writable.
 */
export const AUTH_KEYS = [
  'spf_status', 'spf_domain', 'spf_reason', 'spf_helo_status', 'spf_receiver',
  'dkim_status', 'dkim_domains', 'arc_status', 'dmarc_status', 'dmarc_policy', 'dmarc_domain', 'authentication_results',
] as const;

/** The CBV verdict's variables (docs/cbv.md): all of `smtp_cbv_*`. */
export const CBV_PREFIX = 'smtp_cbv_';
/** The recipient call-ahead's variables (docs/recipient-verification.md): all of `recipient_verify_*`. */
export const RECIPIENT_VERIFY_PREFIX = 'recipient_verify_';

const RESERVED: ReadonlySet<string> = new Set<string>([...CONNECTION_KEYS, ...MESSAGE_KEYS, ...AUTH_KEYS]);

/** True for a key only the server may set. Keys are compared case-insensitively, as scripts look them up. */
export function isReservedContextKey(key: string): boolean {
  const k = key.toLowerCase();
  return RESERVED.has(k) || k.startsWith(CBV_PREFIX) || k.startsWith(RECIPIENT_VERIFY_PREFIX);
}
