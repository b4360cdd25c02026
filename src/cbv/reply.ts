/**
 * SMTP reply parsing (RFC 5321 4.2): `CODE-text` continuation lines, then a
 * final `CODE text` (or bare `CODE`). Input from a stranger is bounded: a line
 * longer than `maxLineLength` or a reply larger than `maxReplyBytes` stops the
 * parser instead of buffering without end (RFC 5321 4.5.3.1.5 puts a reply
 * line at 512 octets; real servers exceed it, so the default limit is wider).
 */

/** A reply as a remote server sent it (what the probe reads); the replies we send are src/session/reply.ts's. */
export interface RemoteReply {
  code: number;
  /** The text of each line, without the code and separator. */
  lines: string[];
}

export type ParseFailure = 'reply-too-long' | 'protocol-error';

export interface ParseResult {
  replies: RemoteReply[];
  /** Set when the input cannot be parsed further; the connection is not usable after it. */
  failure?: ParseFailure;
  /** The offending line for a protocol error, sanitised. */
  detail?: string;
  /** Bytes dropped after a positive reply to STARTTLS (see `haltAfterPositiveReply`). */
  discarded?: number;
}

const LINE = /^([2-5]\d\d)(?:([ -])(.*))?$/;

export class ReplyParser {
  private partial = '';
  private lines: string[] = [];
  private code = 0;
  private replyBytes = 0;
  private failed = false;
  private haltOnPositive = false;
  private halted = false;

  constructor(
    private readonly maxLineLength: number,
    private readonly maxReplyBytes: number,
  ) {}

  /** Feeds bytes from the socket; returns the replies they complete. */
  push(chunk: Buffer): ParseResult {
    const replies: RemoteReply[] = [];
    if (this.failed) return { replies, failure: 'protocol-error' };
    if (this.halted) return { replies, discarded: chunk.length };
    // latin1 keeps one character per byte, so lengths below are byte counts.
    const data = this.partial + chunk.toString('latin1');
    const parts = data.split('\n');
    const partial = parts.pop() ?? '';
    let consumed = 0;
    for (const raw of parts) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.length > this.maxLineLength) return this.fail(replies, 'reply-too-long', '');
      this.replyBytes += raw.length + 1;
      if (this.replyBytes > this.maxReplyBytes) return this.fail(replies, 'reply-too-long', '');
      const m = LINE.exec(line);
      if (!m) return this.fail(replies, 'protocol-error', sanitise(line));
      const code = Number(m[1]);
      // RFC 5321 4.2.1: every line of a multi-line reply carries the same
      // code; a change of code mid-reply means we are out of step.
      if (this.lines.length > 0 && code !== this.code) return this.fail(replies, 'protocol-error', sanitise(line));
      this.code = code;
      this.lines.push(m[3] ?? '');
      if (m[2] !== '-') {
        replies.push({ code, lines: this.lines });
        this.lines = [];
        this.replyBytes = 0;
        const halt = this.haltOnPositive && code >= 200 && code < 300;
        this.haltOnPositive = false;
        if (halt) {
          // Whatever follows the 220 in clear is no reply to anything: the
          // next bytes belong to TLS, and bytes sent before our ClientHello
          // are an injection attempt (RFC 3207 4.2, 6). Drop them unparsed.
          this.halted = true;
          this.partial = '';
          const rest = data.length - consumed - raw.length - 1;
          return rest > 0 ? { replies, discarded: rest } : { replies };
        }
      }
      consumed += raw.length + 1;
    }
    this.partial = partial;
    if (partial.length > this.maxLineLength) return this.fail(replies, 'reply-too-long', '');
    return { replies };
  }

  /**
   * The next reply (to STARTTLS) is the last thing read in clear when it is
   * positive: after it the parser reads nothing until `reset`. After a
   * negative one the session goes on in clear as before.
   */
  haltAfterPositiveReply(): void {
    this.haltOnPositive = true;
  }

  /** After STARTTLS (RFC 3207 4.2) nothing read in clear may carry over. */
  reset(): void {
    this.partial = '';
    this.lines = [];
    this.replyBytes = 0;
    this.haltOnPositive = false;
    this.halted = false;
  }

  private fail(replies: RemoteReply[], failure: ParseFailure, detail: string): ParseResult {
    this.failed = true;
    return { replies, failure, detail };
  }
}

/**
 * Makes remote text safe to log, cache and hand to Sieve (which may put it in
 * its own SMTP reply): printable ASCII only, bounded length.
 */
export function sanitise(text: string, max = 512): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}

/** One line for `smtp_cbv_reply`: the code, then each line's text, sanitised. */
export function formatRemoteReply(r: RemoteReply): string {
  return sanitise(`${r.code} ${r.lines.join(' ')}`.trimEnd());
}

/** The reply's class: 2 positive, 4 transient, 5 permanent (RFC 5321 4.2.1). */
export function replyClass(r: RemoteReply): 2 | 3 | 4 | 5 {
  return Math.floor(r.code / 100) as 2 | 3 | 4 | 5;
}
