/**
 * Postfix's SMTP access policy delegation protocol (Postfix
 * SMTPD_POLICY_README, "Protocol description"): a request is `name=value`
 * lines, each ended by a newline, and ends with an empty line; the reply is
 * one `action=...` line and an empty line. Connections are reused for many
 * requests.
 *
 * The reader is bounded: a line, the number of attributes and the request
 * as a whole each have a limit; past one, or on a line without `=`, it
 * throws PolicyProtocolError and the connection is closed.
 */

export interface PolicyLimits {
  /** Longest line (name=value), in bytes. */
  maxLine: number;
  /** Most attributes in one request. */
  maxAttributes: number;
  /** Largest request, in bytes. */
  maxRequest: number;
}

/** Postfix's own attributes are short; certificate subjects are the longest (a few hundred bytes). */
export const DEFAULT_POLICY_LIMITS: PolicyLimits = { maxLine: 8192, maxAttributes: 128, maxRequest: 64 * 1024 };

export type PolicyRequest = Map<string, string>;

export class PolicyProtocolError extends Error {
  override name = 'PolicyProtocolError';
}

export class PolicyRequestReader {
  private partial = '';
  private current: PolicyRequest = new Map();
  private requestBytes = 0;

  constructor(readonly limits: PolicyLimits = DEFAULT_POLICY_LIMITS) {}

  /** Bytes held for a line not yet ended. */
  get pending(): number {
    return this.partial.length;
  }

  /** Feeds bytes; returns the requests they complete. */
  push(chunk: Buffer): PolicyRequest[] {
    const out: PolicyRequest[] = [];
    // latin1 keeps one character per byte, so lengths are byte counts; values are decoded as UTF-8 below.
    let text = this.partial + chunk.toString('latin1');
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl).replace(/\r$/, '');
      text = text.slice(nl + 1);
      this.line(line, out);
    }
    if (text.length > this.limits.maxLine) throw new PolicyProtocolError(`line longer than ${this.limits.maxLine} bytes`);
    this.partial = text;
    return out;
  }

  private line(line: string, out: PolicyRequest[]): void {
    if (line.length > this.limits.maxLine) throw new PolicyProtocolError(`line longer than ${this.limits.maxLine} bytes`);
    if (line === '') {
      // An empty line ends the request; one before any attribute is not a request (tolerated, ignored).
      if (this.current.size) out.push(this.current);
      this.current = new Map();
      this.requestBytes = 0;
      return;
    }
    this.requestBytes += line.length + 1;
    if (this.requestBytes > this.limits.maxRequest) throw new PolicyProtocolError(`request larger than ${this.limits.maxRequest} bytes`);
    const eq = line.indexOf('=');
    if (eq <= 0) throw new PolicyProtocolError(`expected name=value, found '${printable(line)}'`);
    const name = line.slice(0, eq).toLowerCase();
    if (!this.current.has(name) && this.current.size >= this.limits.maxAttributes) throw new PolicyProtocolError(`more than ${this.limits.maxAttributes} attributes`);
    this.current.set(name, Buffer.from(line.slice(eq + 1), 'latin1').toString('utf8'));
  }
}

/** The reply: one action (access(5) syntax), on one line. */
export function formatAction(action: string): string {
  return `action=${action.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** A short, printable excerpt of peer input for a log line. */
function printable(s: string): string {
  const cut = s.length > 60 ? `${s.slice(0, 60)}...` : s;
  return cut.replace(/[^\x20-\x7e]/g, '?');
}
