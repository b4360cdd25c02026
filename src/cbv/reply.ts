/**
 * SMTP reply parsing (RFC 5321 4.2): `CODE-text` continuation lines, then a
 * final `CODE text` (or bare `CODE`). Input from a stranger is bounded: a line
 * longer than `maxLineLength` or a reply larger than `maxReplyBytes` stops the
 * parser instead of buffering without end (RFC 5321 4.5.3.1.5 puts a reply
 * line at 512 octets; real servers exceed it, so the default limit is wider).
 */

export interface Reply {
  code: number;
  /** The text of each line, without the code and separator. */
  lines: string[];
}

export type ParseFailure = 'reply-too-long' | 'protocol-error';

export interface ParseResult {
  replies: Reply[];
  /** Set when the input cannot be parsed further; the connection is not usable after it. */
  failure?: ParseFailure;
  /** The offending line for a protocol error, sanitised. */
  detail?: string;
}

const LINE = /^([2-5]\d\d)(?:([ -])(.*))?$/;

export class ReplyParser {
  private partial = '';
  private lines: string[] = [];
  private code = 0;
  private replyBytes = 0;
  private failed = false;

  constructor(
    private readonly maxLineLength: number,
    private readonly maxReplyBytes: number,
  ) {}

  /** Feeds bytes from the socket; returns the replies they complete. */
  push(chunk: Buffer): ParseResult {
    const replies: Reply[] = [];
    if (this.failed) return { replies, failure: 'protocol-error' };
    // latin1 keeps one character per byte, so lengths below are byte counts.
    const data = this.partial + chunk.toString('latin1');
    const parts = data.split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > this.maxLineLength) return this.fail(replies, 'reply-too-long', '');
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
      }
    }
    return { replies };
  }

  /** After STARTTLS (RFC 3207 4.2) nothing read in clear may carry over. */
  reset(): void {
    this.partial = '';
    this.lines = [];
    this.replyBytes = 0;
  }

  private fail(replies: Reply[], failure: ParseFailure, detail: string): ParseResult {
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
export function formatReply(r: Reply): string {
  return sanitise(`${r.code} ${r.lines.join(' ')}`.trimEnd());
}

/** The reply's class: 2 positive, 4 transient, 5 permanent (RFC 5321 4.2.1). */
export function replyClass(r: Reply): 2 | 3 | 4 | 5 {
  return Math.floor(r.code / 100) as 2 | 3 | 4 | 5;
}
