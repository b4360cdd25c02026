/**
 * Message authentication in a dry run (docs/testing-policies.md,
 * "Authentication results"): the case file says what SPF, DKIM, ARC and
 * DMARC concluded, and the session gets those results where the server's
 * checks would put them (docs/authentication.md): the SPF variables before
 * the mailfrom scripts, the rest and the Authentication-Results field
 * before the data scripts. No DNS is asked.
 */
import { authResultsField, rewriteAuthHeaders } from '../auth/auth-results.js';
import { MessageAuthentication } from '../session/message-authentication.js';
import { bufferSource, type MessageSource } from '../session/message-source.js';
import type { ConnectionState, Transaction } from '../session/state.js';
import { silentLogger } from './session.js';

/** The case file's `authentication:` keys; each result word as docs/authentication.md lists it. */
export interface AuthStub {
  spf?: string;
  spf_domain?: string;
  spf_reason?: string;
  spf_helo?: string;
  dkim?: string;
  dkim_domains?: string;
  arc?: string;
  dmarc?: string;
  dmarc_policy?: string;
  dmarc_domain?: string;
}

const SPF_WORDS = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'];
/** The words each key takes; a key not listed takes any text. */
export const AUTH_STUB_WORDS: Partial<Record<keyof AuthStub, readonly string[]>> = {
  spf: SPF_WORDS,
  spf_helo: SPF_WORDS,
  dkim: ['pass', 'fail', 'neutral', 'policy', 'temperror', 'permerror', 'none'],
  arc: ['pass', 'fail', 'none'],
  dmarc: ['pass', 'fail', 'none', 'temperror', 'permerror'],
  dmarc_policy: ['none', 'quarantine', 'reject', ''],
};
export const AUTH_STUB_KEYS: ReadonlySet<string> = new Set(['spf', 'spf_domain', 'spf_reason', 'spf_helo', 'dkim', 'dkim_domains', 'arc', 'dmarc', 'dmarc_policy', 'dmarc_domain']);

/** Why a stub cannot be played, or null; a detail without its result (dkim_domains without dkim) would never show. */
export function checkAuthStub(stub: AuthStub): string | null {
  for (const [key, owner] of [['spf_domain', 'spf'], ['spf_reason', 'spf'], ['spf_helo', 'spf'], ['dkim_domains', 'dkim'], ['dmarc_policy', 'dmarc'], ['dmarc_domain', 'dmarc']] as const) {
    if (stub[key] !== undefined && stub[owner] === undefined) return `${key} needs ${owner}`;
  }
  return null;
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** The first From address's domain, as DMARC takes it (RFC 7489 3.1); enough for a default. */
function fromDomain(message: Buffer): string {
  const head = message.toString('latin1').split(/\r?\n\r?\n/, 1)[0] ?? '';
  const m = /^From:[^\n]*?([^\s<@]+@[^\s>;,]+)/im.exec(head.replace(/\r?\n[ \t]+/g, ' '));
  return m ? domainOf(m[1]!) : '';
}

export class StubAuthentication extends MessageAuthentication {
  constructor(private readonly stub: AuthStub) {
    super(
      {
        spf: stub.spf ? { contextVariable: 'spf_status', receivedSpf: false, authResults: true, helo: !!stub.spf_helo } : null,
        dkim: stub.dkim || stub.arc ? { minKeyBits: 1024, arc: !!stub.arc } : null,
        dmarc: !!stub.dmarc,
        authservId: null,
        timeoutMs: 0,
      },
      () => Promise.reject(new Error('a dry run asks no DNS')),
      silentLogger,
    );
  }

  override async mailFrom(connection: ConnectionState, tx: Transaction): Promise<void> {
    const s = this.stub;
    if (!s.spf) return;
    const c = tx.context;
    c.set('spf_status', s.spf);
    c.set('spf_domain', s.spf_domain ?? (tx.mailFrom ? domainOf(tx.mailFrom) : (connection.helo ?? '').toLowerCase()));
    c.set('spf_reason', s.spf_reason ?? `${connection.hostname}: SPF ${s.spf} (dry run)`);
    c.set('spf_receiver', connection.hostname);
    if (s.spf_helo) c.set('spf_helo_status', s.spf_helo);
  }

  override async data(connection: ConnectionState, tx: Transaction, message: MessageSource): Promise<MessageSource> {
    const s = this.stub;
    const c = tx.context;
    const clauses: string[] = [];
    if (s.dkim) {
      c.set('dkim_status', s.dkim);
      c.set('dkim_domains', s.dkim_domains ?? '');
      clauses.push(`dkim=${s.dkim}${s.dkim_domains ? ` header.d=${s.dkim_domains.split(' ')[0]}` : ''}`);
    }
    if (s.spf) clauses.push(`spf=${s.spf} smtp.mailfrom=${tx.mailFrom || `postmaster@${connection.helo ?? ''}`}`);
    if (s.spf_helo) clauses.push(`spf=${s.spf_helo} smtp.helo=${connection.helo ?? ''}`);
    if (s.arc) {
      c.set('arc_status', s.arc);
      clauses.push(`arc=${s.arc}`);
    }
    if (s.dmarc) {
      const domain = s.dmarc_domain ?? fromDomain(message.bytes());
      c.set('dmarc_status', s.dmarc);
      c.set('dmarc_policy', s.dmarc_policy ?? '');
      c.set('dmarc_domain', domain);
      clauses.push(`dmarc=${s.dmarc}${s.dmarc_policy ? ` (p=${s.dmarc_policy.toUpperCase()})` : ''} header.from=${domain}`);
    }
    if (!clauses.length) return message;
    const id = connection.hostname;
    const field = authResultsField(id, clauses);
    c.set('authentication_results', field.slice(field.indexOf(':') + 1).replace(/\r\n\t/g, ' ').trim());
    // The dry run's messages are in memory (message-source.ts bufferSource).
    return bufferSource(rewriteAuthHeaders(message.bytes(), id, [field]));
  }
}
