/**
 * One delivery attempt over SMTP or LMTP (RFC 2033) with nodemailer's
 * SMTPConnection: the targets are tried in order until one of them answers
 * the transaction (RFC 5321 5.1: a host that cannot be reached, or that
 * greets with a 4xx, passes the attempt to the next one); the result is
 * one outcome per recipient, with the reply that decided it.
 *
 * Connections come from, and go back to, the pool (outbound.ts) when one
 * is given.
 *
 * STARTTLS (Momentum's `TLS`): `ifavailable` uses it when offered and
 * goes on in clear when the upgrade is refused or the handshake fails;
 * `required` defers the recipients of a host that cannot do it; `no` never
 * asks. Certificates are not verified: opportunistic TLS protects against
 * passive listeners only (RFC 7435); verified TLS (DANE, MTA-STS) is not
 * implemented.
 */
import type SMTPConnection from 'nodemailer/lib/smtp-connection/index.js';
import type { TlsMode } from '../config/index.js';
import type { FileRange } from './file-range.js';
import { Outbound, OutboundPool, type SmtpError } from './outbound.js';
import type { Reply } from '../session/reply.js';
import type { Target } from './routes.js';
import { CONVERSION_FAILED } from './seven-bit.js';

export type Outcome = 'delivered' | 'deferred' | 'failed';

export interface RecipientResult {
  recipient: string;
  outcome: Outcome;
  reply: Reply;
  /** The host that gave the reply, as `name[address]:port`; absent when none was reached. */
  hop?: string;
}

export interface SendOptions {
  lmtp: boolean;
  tls: TlsMode;
  /** EHLO/LHLO name. */
  helo: string;
  connectTimeoutMs: number;
  responseTimeoutMs: number;
  /** Targets tried at most (MX hosts). */
  maxTargets?: number;
  /** Keeps connections open between messages (outbound.ts); without it each attempt has its own. */
  pool?: OutboundPool;
}

/** A reply as nodemailer hands it over ("550 5.1.1 text", lines joined). */
export function parseReply(response: string | undefined, fallback: Reply): Reply {
  if (!response) return fallback;
  const lines = response.split(/\r?\n/).filter(Boolean);
  const m = /^(\d{3})[ -]?(.*)$/.exec(lines[0] ?? '');
  if (!m) return { ...fallback, text: `${fallback.text}: ${response.slice(0, 200)}` };
  const code = Number(m[1]);
  const texts = lines.map((l) => l.replace(/^\d{3}[ -]?/, ''));
  const e = /^([245]\.\d{1,3}\.\d{1,3})\s+/.exec(texts[0] ?? '');
  const enhanced = e?.[1];
  const text = texts.map((t) => (enhanced && t.startsWith(enhanced) ? t.slice(enhanced.length).trimStart() : t)).join(' ');
  return enhanced ? { code, enhanced, text } : { code, text };
}

const outcomeOf = (reply: Reply): Outcome => (reply.code >= 200 && reply.code < 300 ? 'delivered' : reply.code >= 500 ? 'failed' : 'deferred');

interface Attempt {
  /** The host was not reached or would not take mail: try the next one. */
  next: boolean;
  results?: RecipientResult[];
  reply?: Reply;
  /** The TLS handshake failed: try this host again in clear (ifavailable only). */
  tlsFailed?: boolean;
}

export async function sendMessage(targets: readonly Target[], from: string, to: readonly string[], message: Buffer | FileRange, o: SendOptions): Promise<RecipientResult[]> {
  let last: Reply = { code: 451, enhanced: '4.4.1', text: 'no next hop could be reached' };
  let lastHop: string | undefined;
  for (const target of targets.slice(0, o.maxTargets ?? 5)) {
    let a = await attempt(target, from, to, message, o, o.tls);
    if (a.tlsFailed && o.tls === 'ifavailable') a = await attempt(target, from, to, message, o, 'no');
    if (!a.next && a.results) return a.results;
    if (a.reply) {
      last = a.reply;
      lastHop = hopName(target);
    }
  }
  return to.map((recipient) => ({ recipient, outcome: 'deferred' as const, reply: last, ...(lastHop ? { hop: lastHop } : {}) }));
}

export const hopName = (t: Target) => (t.name === t.address ? `[${t.address}]:${t.port}` : `${t.name}[${t.address}]:${t.port}`);

async function attempt(target: Target, from: string, to: readonly string[], message: Buffer | FileRange, o: SendOptions, tls: TlsMode): Promise<Attempt> {
  const hop = hopName(target);
  const options = { ...o, tls };
  const key = OutboundPool.key(target, options);
  // A connection kept from an earlier message first; if it fails before answering, a fresh one.
  const kept = o.pool?.take(key);
  if (kept) {
    const r = await kept.send(from, to, message);
    if (!kept.broken || r.info) return finish(kept, r, to, hop, o.pool);
    kept.close();
  }
  const conn = new Outbound(key, target, options);
  const err = await conn.connect();
  if (err) {
    conn.close();
    return connectionFailure(err, tls);
  }
  return finish(conn, await conn.send(from, to, message), to, hop, o.pool);
}

/** Per-recipient results of a transaction; a clean one gives its connection back to the pool. */
function finish(conn: Outbound, r: { err: SmtpError | null; info?: SMTPConnection.SentMessageInfo }, to: readonly string[], hop: string, pool: OutboundPool | undefined): Attempt {
  if (r.err) {
    conn.close();
    return sendFailure(r.err, to, hop);
  }
  if (pool) pool.give(conn);
  else conn.quit();
  const info = r.info;
  const accepted = new Set((info?.accepted ?? []).map(String));
  const rejected = new Map((info?.rejectedErrors ?? []).map((e) => [String((e as SmtpError).recipient), e as SmtpError]));
  // LMTP: nodemailer hands over only the last recipient's reply, which may be a refusal.
  const last = parseReply(info?.response, { code: 250, text: 'OK' });
  const ok = last.code >= 200 && last.code < 300 ? last : { code: 250, text: 'OK (LMTP)' };
  return {
    next: false,
    results: to.map((recipient) => {
      const e = rejected.get(recipient);
      if (e || !accepted.has(recipient)) {
        const reply = parseReply(e?.response, { code: 451, enhanced: '4.3.0', text: 'no reply for this recipient' });
        return { recipient, outcome: outcomeOf(reply), reply, hop };
      }
      return { recipient, outcome: 'delivered' as const, reply: ok, hop };
    }),
  };
}

/** Before a transaction: the next target may do better (a 5xx greeting ends it for this host only too). */
function connectionFailure(err: SmtpError, tls: TlsMode): Attempt {
  if (err.code === 'ETLS' && tls === 'ifavailable') return { next: true, tlsFailed: true };
  // RFC 3207 4.1: a client that requires TLS gives up on a host that cannot do it.
  if (err.code === 'ETLS') return { next: true, reply: { code: 451, enhanced: '4.7.5', text: `TLS is required for this route: ${err.message}` } };
  const reply = err.response
    ? parseReply(err.response, { code: 451, enhanced: '4.4.1', text: err.message })
    : { code: 451, enhanced: '4.4.1', text: `${err.code ?? 'error'}: ${err.message}` };
  // A host that answers 5xx to the greeting or EHLO refuses us, not the message: still only deferred.
  return { next: true, reply: reply.code >= 500 ? { ...reply, code: 451, enhanced: '4.4.1' } : reply };
}

/** A transaction that failed: MAIL FROM, every RCPT TO, DATA, or the connection. */
function sendFailure(err: SmtpError, to: readonly string[], hop: string): Attempt {
  // A message that cannot be put in 7 bits for a next hop without 8BITMIME is returned (RFC 6152 3), as RFC 3463 5.6.3 says.
  if ((err as { [CONVERSION_FAILED]?: boolean })[CONVERSION_FAILED]) {
    const reply = { code: 554, enhanced: '5.6.3', text: `the message could not be converted to 7 bits for a next hop without 8BITMIME: ${err.message}` };
    return { next: false, results: to.map((recipient) => ({ recipient, outcome: 'failed' as const, reply, hop })) };
  }
  // Refused by the client library itself (an address it cannot put on the wire): retrying cannot help.
  if (err.code === 'EENVELOPE' && !err.response) {
    const reply = { code: 553, enhanced: '5.1.3', text: err.message };
    return { next: false, results: to.map((recipient) => ({ recipient, outcome: 'failed' as const, reply })) };
  }
  const perRecipient = new Map((err.rejectedErrors ?? []).map((e) => [String(e.recipient), e]));
  const general = err.response
    ? parseReply(err.response, { code: 451, enhanced: '4.4.2', text: err.message })
    : { code: 451, enhanced: '4.4.2', text: `connection lost: ${err.message}` };
  const results = to.map((recipient) => {
    const own = perRecipient.get(recipient);
    const reply = own ? parseReply(own.response, general) : general;
    return { recipient, outcome: outcomeOf(reply) === 'delivered' ? ('deferred' as const) : outcomeOf(reply), reply, hop };
  });
  return { next: false, results };
}
