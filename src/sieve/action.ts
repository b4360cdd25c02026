/**
 * An action's one typed definition (as Pigeonhole's sieve_action_def): its
 * name, whether it cancels the implicit keep (RFC 5228 2.10.2), how a
 * second one of the same kind merges with the first (2.10.3), what it
 * conflicts with, which limit it counts against, and how it reads in a
 * report. The result (runtime/result.ts) applies these rules without
 * knowing any action by name; each command builds its action with
 * Runtime.take, and the tags of the command add their effect (`:copy`,
 * copy.ts).
 */
import type { Position } from '../diagnostics.js';
import type { SieveMessage } from './runtime/message.js';

export interface Action {
  /** The definition: the rules and meaning of this kind of action. */
  def: ActionDef;
  /** def.type, for readers that only name it (logs, the testsuite's test_result_action). */
  type: string;
  pos: Position;
  /** Mailbox for keep/store, address for redirect, reason for reject/ereject. */
  target?: string;
  /** RFC 3894 (set by the :copy tag): keeps the implicit keep. */
  copy?: boolean;
  /** imap4flags (RFC 5232): flags to set on the stored message. */
  flags?: string[];
  /** Anything else the action carries (vacation's fields, an SMTP reply's code and text). */
  data?: Record<string, unknown>;
  /** The message as it was when the action was taken (editheader changes it, RFC 5293 4). */
  message?: SieveMessage;
  /**
   * A host carried it out already: scripts run in sequence add to one
   * result that is executed after each (Pigeonhole's multiscript), and what
   * was done cannot conflict any more.
   */
  executed?: boolean;
}

/** The fields a command gives when it takes an action; take() adds def, type and pos. */
export type ActionFields = Omit<Action, 'def' | 'type' | 'pos'>;

export interface ActionDef {
  /** The name in results and logs (Pigeonhole's: keep, store, redirect, discard, reject, vacation, ...). */
  readonly type: string;
  /** Does this action cancel the implicit keep (RFC 5228 2.10.2)? */
  cancelsImplicitKeep(a: Action): boolean;
  /** Delivers the message somewhere (RFC 5429 2.1: reject conflicts with these). */
  readonly delivers?: boolean;
  /** Sends a response to the sender (vacation: RFC 5429 2.1 makes reject conflict with it too). */
  readonly responds?: boolean;
  /** Run before anything else when the action is added (keep and store normalise the mailbox). */
  normalize?(a: Action): void;
  /**
   * Is `a` a repeat of the earlier action `earlier` of the same definition?
   * 'merge' when it was folded into it (RFC 5228 2.10.3: the same mailbox or
   * address is one action), an error message when a repeat is not allowed,
   * undefined when they are different actions.
   */
  repeat?(earlier: Action, a: Action): 'merge' | string | undefined;
  /** An error message when `a` may not follow `earlier` (of any definition), else null. */
  conflict?(earlier: Action, a: Action): string | null;
  /** True when `a` adds nothing to `earlier`, which was carried out already: `a` is dropped without an error. */
  redundant?(earlier: Action, a: Action): boolean;
  /** The per-run limit it also counts against (RFC 5228 2.10.6: redirects). */
  readonly limit?: 'maxRedirects';
  /** Ends the run when taken: the reply is chosen (Sieve++ ec_action). */
  readonly final?: boolean;
  /** One line for a report: `redirect joe@example.com`. */
  describe(a: Action): string;
}
