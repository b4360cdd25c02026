/**
 * The replies the session itself gives, success and failure, in one place:
 * the SMTP front door sends these and the dry run reports them, so the two
 * agree by construction. Policy replies come from the scripts (decide.ts).
 */
import type { Reply } from './reply.js';

export const replies = {
  /** RFC 5321 4.3.1; no enhanced code in a greeting (RFC 2034 section 3). */
  greeting: (hostname: string, banner: string): Reply => ({ code: 220, text: `${hostname} ESMTP${banner ? ` ${banner}` : ''}` }),
  /** The first line of the EHLO/HELO answer; the front door adds the extensions it offers. */
  ehlo: (hostname: string, clientAddress: string): Reply => ({ code: 250, text: `${hostname} Nice to meet you, [${clientAddress}]` }),
  mailAccepted: { code: 250, enhanced: '2.1.0', text: 'Accepted' } as Reply,
  rcptAccepted: { code: 250, enhanced: '2.1.5', text: 'Accepted' } as Reply,
  /** RFC 3463 2.6.0: the message was accepted for delivery. */
  queued: (id: string): Reply => ({ code: 250, enhanced: '2.6.0', text: `Ok: queued as ${id}` }),
  /** Accepted, nothing to deliver (discard). */
  accepted: { code: 250, enhanced: '2.6.0', text: 'Ok: accepted' } as Reply,
  policyError: { code: 451, enhanced: '4.3.0', text: 'Temporary policy error, please try again later' } as Reply,
  localError: { code: 451, enhanced: '4.3.0', text: 'Local error in processing, please try again later' } as Reply,
  sessionLost: { code: 421, enhanced: '4.3.0', text: 'Internal error: session state lost, try again later' } as Reply,
  tooManyFromAddress: { code: 421, enhanced: '4.7.0', text: 'Too many connections from your address, try again later' } as Reply,
  shuttingDown: { code: 421, enhanced: '4.3.2', text: 'Server shutting down' } as Reply,
  needMail: { code: 503, enhanced: '5.5.1', text: 'Error: need MAIL command' } as Reply,
  noValidRecipients: { code: 554, enhanced: '5.5.1', text: 'Error: no valid recipients' } as Reply,
  /** RFC 3463 4.3.1: the messages being received already fill the memory set aside for them. */
  noMemory: { code: 452, enhanced: '4.3.1', text: 'Insufficient system storage, try again later' } as Reply,
  tooBig: (limit: number): Reply => ({ code: 552, enhanced: '5.3.4', text: `Message size exceeds the limit of ${limit} bytes` }),
};
