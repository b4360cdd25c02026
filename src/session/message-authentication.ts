/**
 * SPF, DKIM, ARC and DMARC at SMTP time (docs/authentication.md): the
 * session calls `mailFrom` before the mailfrom phase's scripts run and
 * `data` before the data phase's, so scripts can act on the results,
 * which go into the message context (AUTH_KEYS in context-keys.ts). `data` also returns the
 * message with our Authentication-Results field on top (RFC 8601), any
 * forged one claiming our authserv-id removed first (RFC 8601 5).
 *
 * Long-lived (src/server/services.ts): a reload swaps its options and
 * resolver in place. What one transaction learnt at MAIL FROM is kept
 * beside the transaction (a WeakMap), not in the script-visible context,
 * so DMARC at DATA uses SPF's real verdict whatever a script wrote.
 */
import type { Logger } from 'pino';
import { authResultsField, rewriteAuthHeaders } from '../auth/auth-results.js';
import { checkHelo, checkMessage, checkSpf, loadChecks, type SpfOutcome, uncheckable } from '../auth/checks.js';
import type { AuthResolve } from '../auth/dns.js';
import { Readable } from 'node:stream';
import { bufferSource, HEAD_LIMIT, type MessageSource, withHead } from './message-source.js';
import type { ConnectionState, Transaction } from './state.js';

export interface AuthenticationOptions {
  /** spf_v1 (RFC 7208); null: SPF is not checked. */
  spf: {
    /** Momentum's `context_variable`: the message context key of the result. */
    contextVariable: string;
    /** Momentum's `add_headers`: a Received-SPF field (RFC 7208 9.1). */
    receivedSpf: boolean;
    /** Momentum's `add_authentication_results`: SPF's clauses in our Authentication-Results. */
    authResults: boolean;
    /** Also check the HELO identity (RFC 7208 2.3). */
    helo: boolean;
  } | null;
  /** dkim_validate (RFC 6376), and ARC over it (RFC 8617); null: no DKIM. */
  dkim: { minKeyBits: number; arc: boolean } | null;
  /** dmarc (RFC 7489): needs SPF and DKIM, which the configuration turns on with it. */
  dmarc: boolean;
  /** Our authserv-id (RFC 8601 2.5); null: the listener's host name. */
  authservId: string | null;
  /** Deadline of the checks of one phase; past it a check is a temperror. */
  timeoutMs: number;
}

/** The log line's field for each result the context holds. */
const LOGGED_RESULTS: ReadonlyArray<readonly [string, string]> = [
  ['spf', 'spf_status'],
  ['dkim', 'dkim_status'],
  ['arc', 'arc_status'],
  ['dmarc', 'dmarc_status'],
];

/** Adds to a transaction's info log line (docs/authentication.md) the verdicts that were checked, and only those. */
export function addAuthenticationLogFields(fields: Record<string, unknown>, tx: Transaction): void {
  for (const [field, key] of LOGGED_RESULTS) {
    const v = tx.context.get(key);
    if (v !== undefined) fields[field] = v;
  }
}

export class MessageAuthentication {
  private readonly spfOf = new WeakMap<Transaction, Promise<SpfOutcome>>();
  private readonly heloOf = new WeakMap<ConnectionState, { helo: string; outcome: Promise<SpfOutcome | null> }>();

  constructor(
    public options: AuthenticationOptions,
    public resolve: AuthResolve,
    private readonly logger: Logger,
  ) {
    // Before the first session, not during it (checks.ts, loadChecks).
    if (this.active) loadChecks();
  }

  /** Whether anything is checked at DATA (and so an Authentication-Results field is added). */
  get active(): boolean {
    return !!(this.options.spf || this.options.dkim || this.options.dmarc);
  }

  private authservId(connection: ConnectionState): string {
    return this.options.authservId ?? connection.hostname;
  }

  /** MAIL FROM: SPF for the reverse-path and, once per HELO name, for the HELO identity. */
  async mailFrom(connection: ConnectionState, tx: Transaction): Promise<void> {
    const o = this.options.spf;
    if (!o) return;
    const outcome = this.startSpf(connection, tx);
    const helo = o.helo ? this.heloCheck(connection) : Promise.resolve(null);
    const [spf, heloOutcome] = await Promise.all([outcome, helo]);
    const c = tx.context;
    c.set(o.contextVariable, spf.result);
    if (o.contextVariable !== 'spf_status') c.set('spf_status', spf.result);
    c.set('spf_domain', spf.domain);
    c.set('spf_reason', spf.comment);
    c.set('spf_receiver', this.authservId(connection));
    if (heloOutcome) c.set('spf_helo_status', heloOutcome.result);
    this.logger.debug({ event: 'spf', session: connection.id, transaction: tx.id, result: spf.result, domain: spf.domain, helo: heloOutcome?.result }, `spf ${spf.result}`);
  }

  private startSpf(connection: ConnectionState, tx: Transaction): Promise<SpfOutcome> {
    let p = this.spfOf.get(tx);
    if (!p) {
      // The same facts the %{spfv1:...} macros read: remote_ip, ehlo_domain, the reverse-path.
      p = checkSpf(this.resolve, {
        ip: clientIp(connection),
        sender: tx.mailFrom,
        helo: connection.helo ?? '',
        receiver: this.authservId(connection),
        timeoutMs: this.options.timeoutMs,
      });
      this.spfOf.set(tx, p);
    }
    return p;
  }

  private heloCheck(connection: ConnectionState): Promise<SpfOutcome | null> {
    const helo = connection.helo ?? '';
    const known = this.heloOf.get(connection);
    if (known && known.helo === helo) return known.outcome;
    const outcome = checkHelo(this.resolve, { ip: clientIp(connection), helo, receiver: this.authservId(connection), timeoutMs: this.options.timeoutMs });
    this.heloOf.set(connection, { helo, outcome });
    return outcome;
  }

  /**
   * DATA: DKIM, ARC and DMARC on the received message; the results join
   * the message context and the message gets our header fields. Never
   * throws: a failure is logged and the message passes unchanged. A
   * spooled message is read as a stream and only its header section is
   * rewritten (message-source.ts withHead).
   */
  async data(connection: ConnectionState, tx: Transaction, message: MessageSource): Promise<MessageSource> {
    if (!this.active) return message;
    const o = this.options;
    try {
      // SPF ran at MAIL FROM; a reload that turned it on since runs it now.
      const spf = o.spf || o.dmarc ? await this.startSpf(connection, tx) : null;
      const m = o.dkim || o.dmarc ? await checkMessage(this.resolve, { message: message.path === undefined ? message.bytes() : Readable.from(message.chunks()), sender: tx.mailFrom, spf, arc: !!o.dkim?.arc, dmarc: o.dmarc, minKeyBits: o.dkim?.minKeyBits ?? 1024, timeoutMs: o.timeoutMs, uncheckable: uncheckable(message.head, message.size, HEAD_LIMIT) }) : null;
      const c = tx.context;
      const clauses: string[] = [];
      if (m && o.dkim) {
        c.set('dkim_status', m.dkim.result);
        c.set('dkim_domains', [...new Set(m.dkim.signatures.filter((s) => s.result === 'pass').map((s) => s.domain))].join(' '));
        clauses.push(...m.dkim.infos);
      }
      if (spf && o.spf?.authResults !== false) {
        clauses.push(spf.info);
        const helo = o.spf?.helo ? await this.heloCheck(connection) : null;
        if (helo) clauses.push(helo.info);
      }
      if (m?.arc) {
        c.set('arc_status', m.arc.result);
        clauses.push(m.arc.info);
      }
      if (m?.dmarc) {
        c.set('dmarc_status', m.dmarc.result);
        c.set('dmarc_policy', m.dmarc.policy);
        c.set('dmarc_domain', m.dmarc.domain);
        clauses.push(m.dmarc.info);
      }
      const id = this.authservId(connection);
      const field = authResultsField(id, clauses);
      c.set('authentication_results', field.slice(field.indexOf(':') + 1).replace(/\r\n\t/g, ' ').trim());
      const fields = [field, ...(spf && o.spf?.receivedSpf ? [spf.receivedSpf] : [])];
      this.logger.debug({ event: 'authentication', session: connection.id, transaction: tx.id, dkim: m?.dkim.result, arc: m?.arc?.result, dmarc: m?.dmarc?.result, spf: spf?.result }, 'message authenticated');
      if (message.head) return withHead(message, rewriteAuthHeaders(message.head, id, fields));
      // No header section apart (past 256 KiB): the message is rewritten whole, a spooled one loaded on the thread pool first.
      await message.load?.();
      return bufferSource(rewriteAuthHeaders(message.bytes(), id, fields));
    } catch (e) {
      this.logger.error({ event: 'authentication-failed', session: connection.id, transaction: tx.id, err: (e as Error).message }, 'message authentication failed');
      return message;
    }
  }
}

/** The client address as the %{spfv1:i} macro reads it: the connection context's remote_ip, which only the server sets. */
function clientIp(connection: ConnectionState): string {
  return connection.context.get('remote_ip') ?? connection.remoteAddress;
}
