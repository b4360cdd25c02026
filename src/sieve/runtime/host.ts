/**
 * What a run is given and what it reaches the world through: the message
 * and SMTP envelope being judged, and the host's callbacks. The Sieve core
 * does no I/O itself: mailbox checks, duplicate tracking, DNS or CBV are
 * host callbacks.
 */
import type { MaybePromise } from '../registry.js';
import type { SieveMessage } from './message.js';

/** The SMTP envelope (RFC 5321): the reverse-path and forward-paths as given. */
export interface Envelope {
  /** The MAIL FROM path; "" or "<>" is the null sender. */
  from: string;
  to: string[];
  /** The original recipient before any aliasing, when the host knows it. */
  origTo?: string;
  /** The authenticated user (RFC 5228 5.4 allows "auth" as an envelope part). */
  auth?: string;
  /**
   * The MAIL FROM BY parameter (RFC 2852), when the sender gave one: the
   * time by which the message is to be delivered (ms since the epoch, UTC,
   * with the zone it was given in), what to do if it cannot be (notify or
   * return) and whether to trace. Read by envelope-deliverby (RFC 6009 5).
   */
  deliverBy?: { deadline: number; offset?: number; mode: 'notify' | 'return'; trace: boolean };
}

export interface ExecutionContext {
  /** Null where there is no message yet (an SMTP server's phases before DATA). */
  message: SieveMessage | null;
  envelope: Envelope;
}

/** What the script may ask of the world. Every member is optional. */
export interface SieveHost {
  /** Does this mailbox exist? (fileinto, mailboxexists). */
  mailboxExists?(name: string): MaybePromise<boolean>;
  /**
   * RFC 6609: the text of a personal or global script, or null when there
   * is none. Without it, include fails at run time.
   */
  loadScript?(name: string, location: 'personal' | 'global'): MaybePromise<string | null>;
  /** Configuration by name, as Pigeonhole names its settings (e.g. sieve_spamtest_status_header). */
  setting?(name: string): string | undefined;
  /** A line for the host's log (language layers log through here: Sieve++ ec_log). */
  log?(level: 'debug' | 'info' | 'warning' | 'error', text: string): void;
  /** RFC 5183 environment items. */
  environment?(name: string): string | undefined;
  /**
   * RFC 7352: is this id (":handle" NUL unique id) on the tracking list,
   * its period not run out? Only asks: the host records what a run tested
   * once the run's result is carried out (duplicateRecords, in
   * extensions/duplicate.ts).
   */
  duplicate?(id: string): MaybePromise<boolean>;
  /** Current time, for date/currentdate and vacation; defaults to the clock. */
  now?(): Date;
  /**
   * RFC 6134: the external list of this name (normalised by the extlists
   * extension: "urn:ietf:params:sieve:addrbook:default", lower case), or
   * undefined when the host has none. Lists are held in memory (the server
   * loads them with its configuration), so the answer is immediate.
   */
  externalList?(name: string): ExternalList | undefined;
  /**
   * RFC 8579 (RFC 6154 attributes such as "\\Junk"): the mailboxes that
   * carry this special-use flag, in the host's order; empty when none.
   */
  specialUseMailboxes?(flag: string): readonly string[];
  /**
   * RFC 5490 / RFC 5464: the value of an annotation ("/private/..." or
   * "/shared/...") of a mailbox (normalised, "INBOX" upper case), or of
   * the server when `mailbox` is null; undefined when it has none.
   */
  metadata?(mailbox: string | null, name: string): MaybePromise<string | undefined>;
}

/** A list the host keeps (RFC 6134): addresses or domains a policy tests against. */
export interface ExternalList {
  /** Is this value (an address, a domain) on the list? The list decides how it compares. */
  contains(value: string): boolean;
  /** Its members, for `redirect :list` (RFC 6134 2.4): the addresses the message goes to. */
  members(): readonly string[];
}
