/**
 * One SMTP reply type and one formatter for everything this server says,
 * whichever front door says it. A reply carries its RFC 3463 enhanced code
 * apart from its text; once ENHANCEDSTATUSCODES is advertised (RFC 2034
 * section 3) every reply but the greeting and the EHLO/HELO answer carries
 * one, so replies built here always have one where RFC 2034 wants it.
 */

export interface Reply {
  code: number;
  /** The RFC 3463 enhanced status code, e.g. "5.7.1". */
  enhanced?: string;
  /** The text; several lines are separated by "\n". */
  text: string;
}

/** A leading enhanced status code (RFC 3463 section 2: class.subject.detail) and the space after it. */
export const ENHANCED_CODE = /^([245])\.(\d{1,3})\.(\d{1,3})(?: +|$)/;

/** RFC 3463 section 3.1's "other undefined status" of the reply's class. */
export function defaultEnhanced(code: number): string | undefined {
  const cls = Math.floor(code / 100);
  return cls === 2 || cls === 4 || cls === 5 ? `${cls}.0.0` : undefined;
}

/**
 * A reply from a code and a text that may begin with its own enhanced code
 * ("5.7.1 no" gives enhanced "5.7.1", text "no"). An enhanced code of the
 * wrong class (a 4.x.x on a 550) is not one: RFC 3463 section 2 makes the
 * class match the reply's.
 */
export function replyFrom(code: number, text: string, fallbackEnhanced?: string): Reply {
  const m = ENHANCED_CODE.exec(text);
  const matches = m !== null && m[1] === String(Math.floor(code / 100));
  const enhanced = matches ? `${m[1]}.${m[2]}.${m[3]}` : (fallbackEnhanced ?? defaultEnhanced(code));
  const body = (matches ? text.slice(m[0].length) : text).replace(/\r\n?/g, '\n');
  return { code, ...(enhanced ? { enhanced } : {}), text: body || defaultText(code) };
}

function defaultText(code: number): string {
  if (code >= 500) return 'Rejected by policy';
  if (code >= 400) return 'Temporarily rejected by policy, try again later';
  return 'Ok';
}

/** The reply's lines without the code: each prefixed with the enhanced code, when there is one. */
export function replyLines(reply: Reply): string[] {
  return reply.text.split('\n').map((line) => (reply.enhanced ? `${reply.enhanced} ${line}` : line));
}

/** The reply as it goes on the wire, without the final CRLF: "550-5.7.1 a\r\n550 5.7.1 b" (RFC 5321 4.2.1). */
export function wireText(reply: Reply): string {
  const lines = replyLines(reply);
  return lines.map((l, i) => `${reply.code}${i < lines.length - 1 ? '-' : ' '}${l}`).join('\r\n');
}

export function isRefusal(reply: Reply | undefined): boolean {
  return reply !== undefined && reply.code >= 400;
}

/**
 * Whether a reply carries out what was decided: anything but a temporary
 * failure, after which the client sends the same message again, and it must
 * not then be its own duplicate (RFC 7352 3).
 */
export function carriedOut(reply: Reply): boolean {
  return reply.code < 400 || reply.code >= 500;
}

/** A policy's 2xx reply replaces the ordinary success reply; anything else keeps it. */
export function successReply(policy: Reply | undefined, ordinary: Reply): Reply {
  return policy && policy.code >= 200 && policy.code < 300 ? policy : ordinary;
}
