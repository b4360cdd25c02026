/**
 * The result of a run: the ordered actions and the implicit keep
 * (RFC 5228 2.10.2). Adding an action applies the rules every
 * implementation must agree on:
 *   - keep and fileinto into the same mailbox are one store (RFC 5228 4.1);
 *   - redirects to the same address collapse (RFC 5228 4.2, Pigeonhole);
 *   - reject/ereject conflict with actions that deliver (RFC 5429 2.1/2.2);
 *   - the action and redirect limits are runtime errors (RFC 5228 2.10.6).
 * Only the actions that cancel the implicit keep cancel it (`:copy` does not,
 * RFC 3894 3).
 */
import type { Position } from '../../diagnostics.js';
import type { SieveMessage } from './message.js';

export interface Action {
  /** Pigeonhole's names: keep, store (fileinto), redirect, discard, reject, vacation, ... */
  type: string;
  pos: Position;
  /** Mailbox for keep/store, address for redirect, reason for reject/ereject. */
  target?: string;
  /** RFC 3894: keeps the implicit keep. */
  copy?: boolean;
  /** imap4flags (RFC 5232): flags to set on the stored message. */
  flags?: string[];
  /** Anything else the action carries (vacation's fields). */
  data?: Record<string, unknown>;
  /** The message as it was when the action was taken (editheader changes it, RFC 5293 4). */
  message?: SieveMessage;
}

export interface ResultLimits {
  maxActions: number;
  maxRedirects: number;
}

/** A runtime error: a value with a position, as every error here is. */
export interface RuntimeError {
  message: string;
  pos?: Position;
}

/** Actions that deliver the message somewhere: these conflict with reject. */
const DELIVERS = new Set(['keep', 'store', 'redirect']);
export const DEFAULT_MAILBOX = 'INBOX';

/** RFC 3501 5.1: "INBOX" is case-insensitive, also as the first level of a hierarchy. */
export function normalizeMailbox(name: string): string {
  return /^inbox($|[./])/i.test(name) ? `INBOX${name.slice(5)}` : name;
}

export class SieveResult {
  readonly actions: Action[] = [];
  implicitKeep = true;
  /** Flags the implicit keep stores with (imap4flags). */
  implicitKeepFlags: string[] | undefined;

  constructor(private limits: ResultLimits) {}

  /**
   * Adds an action; returns an error message when it cannot be added.
   * `cancels` is whether it cancels the implicit keep.
   */
  add(action: Action, cancels: boolean): string | null {
    const norm = (s: string | undefined) => s ?? '';
    if (action.type === 'keep' || action.type === 'store') {
      action.target = normalizeMailbox(norm(action.target) || DEFAULT_MAILBOX);
      const box = action.target;
      const same = this.actions.find((a) => (a.type === 'keep' || a.type === 'store') && a.target === box);
      if (same) {
        // One store per mailbox; later flags win (RFC 5232 5).
        if (action.flags) same.flags = action.flags;
        if (cancels) this.implicitKeep = false;
        return this.conflicts(action);
      }
    }
    if (action.type === 'vacation' && this.has('vacation')) return 'duplicate vacation action not allowed';
    if (action.type === 'redirect') {
      const same = this.actions.find((a) => a.type === 'redirect' && a.target === action.target);
      if (same) {
        if (!action.copy) same.copy = false;
        if (cancels) this.implicitKeep = false;
        return null;
      }
    }
    const conflict = this.conflicts(action);
    if (conflict) return conflict;
    if (this.actions.length >= this.limits.maxActions) return 'total number of actions exceeds policy limit';
    if (action.type === 'redirect' && this.actions.filter((a) => a.type === 'redirect').length >= this.limits.maxRedirects) {
      return 'number of redirect actions exceeds policy limit';
    }
    this.actions.push(action);
    if (cancels) this.implicitKeep = false;
    return null;
  }

  private conflicts(action: Action): string | null {
    const rejects = (t: string) => t === 'reject' || t === 'ereject';
    if (rejects(action.type)) {
      const other = this.actions.find((a) => rejects(a.type) || DELIVERS.has(a.type) || a.type === 'vacation');
      if (other) return rejects(other.type) ? `duplicate ${action.type} action not allowed` : `${action.type} action conflicts with earlier ${other.type} action`;
    } else if (DELIVERS.has(action.type) || action.type === 'vacation') {
      const other = this.actions.find((a) => rejects(a.type));
      if (other) return `${action.type} action conflicts with earlier ${other.type} action`;
    }
    return null;
  }

  /** Forgets every action (the testsuite's test_result_reset). */
  reset(): void {
    this.actions.length = 0;
    this.implicitKeep = true;
    this.implicitKeepFlags = undefined;
  }

  has(type: string): boolean {
    return this.actions.some((a) => a.type === type);
  }
}
