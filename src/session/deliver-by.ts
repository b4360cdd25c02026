/**
 * The MAIL FROM BY parameter of the SMTP DELIVERBY extension (RFC 2852):
 *
 *   by-value = by-time ";" by-mode [ by-trace ]
 *   by-time  = [ "-" / "+" ] 1*9digit      seconds from now
 *   by-mode  = "N" / "R"                    notify, or return, when late
 *   by-trace = "T"
 *
 * With "R" the time must be positive (a message cannot be returned
 * before it arrives); with "N" it may be zero or negative (already late:
 * the sender wants to hear about it). Mode and trace are case-insensitive
 * as SMTP keywords are. A bad value is refused with 501 5.5.4 (RFC 3463:
 * invalid command arguments). smtp-server reads parameter values as
 * xtext first, so "+12;R" ("+12" an escape) is refused before it gets here.
 */
import type { Envelope } from '../sieve/index.js';
import type { Reply } from './reply.js';

export type DeliverBy = NonNullable<Envelope['deliverBy']>;

/** What we offer in the EHLO answer: DELIVERBY without a minimum by-time (RFC 2852). */
export const DELIVERBY_KEYWORD = 'DELIVERBY';

const BY = /^([+-]?)(\d{1,9});([NnRr])([Tt]?)$/;

export function parseByParameter(value: string, now: number): { deliverBy: DeliverBy } | { reply: Reply } {
  const m = BY.exec(value);
  const bad = (why: string) => ({ reply: { code: 501, enhanced: '5.5.4', text: `Invalid BY parameter: ${why}` } });
  if (!m) return bad('expected <seconds>;N or <seconds>;R, with T to trace (RFC 2852)');
  const seconds = (m[1] === '-' ? -1 : 1) * Number(m[2]);
  const mode = m[3]!.toUpperCase() === 'R' ? 'return' : 'notify';
  if (mode === 'return' && seconds <= 0) return bad('with R, the by-time must be positive (RFC 2852)');
  // The deadline counts from now, in UTC; RFC 6009 5's bytimeabsolute shows it in the server's zone.
  return { deliverBy: { deadline: now + seconds * 1000, mode, trace: m[4] !== '' } };
}

/** The BY parameter as a hop is given it on, counted from `now` (RFC 2852: the time left). */
export function formatByParameter(by: DeliverBy, now: number): string {
  const left = Math.max(-999_999_999, Math.min(999_999_999, Math.floor((by.deadline - now) / 1000)));
  return `${left};${by.mode === 'return' ? 'R' : 'N'}${by.trace ? 'T' : ''}`;
}
