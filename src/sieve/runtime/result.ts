/**
 * The result of a run: the ordered actions and the implicit keep
 * (RFC 5228 2.10.2). Adding an action applies the rules its definition
 * declares (action.ts): repeats merge or are refused (2.10.3), conflicts
 * are refused (RFC 5429 2.1), the action and redirect limits are runtime
 * errors (2.10.6). Only actions that cancel the implicit keep cancel it
 * (`:copy` does not, RFC 3894 3). The result knows no action by name.
 */
import type { Action } from '../action.js';

export type { Action } from '../action.js';

export interface ResultLimits {
  maxActions: number;
  maxRedirects: number;
}

/** A runtime error: a value with a position, as every error here is. */
export interface RuntimeError {
  message: string;
  pos?: import('../../diagnostics.js').Position;
}

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

  /** Adds an action; returns an error message when it cannot be added. */
  add(action: Action): string | null {
    const def = action.def;
    def.normalize?.(action);
    if (def.redundant && this.actions.some((e) => e.executed && def.redundant!(e, action))) return null;
    const cancels = def.cancelsImplicitKeep(action);
    if (def.repeat) {
      for (const earlier of this.actions) {
        if (earlier.def.repeat !== def.repeat) continue;
        const r = def.repeat(earlier, action);
        if (r === undefined) continue;
        if (r !== 'merge') return r;
        if (cancels) this.implicitKeep = false;
        return this.conflict(action);
      }
    }
    const conflict = this.conflict(action);
    if (conflict) return conflict;
    if (this.actions.length >= this.limits.maxActions) return 'total number of actions exceeds policy limit';
    if (def.limit === 'maxRedirects' && this.actions.filter((a) => a.def.limit === def.limit).length >= this.limits.maxRedirects) {
      return 'number of redirect actions exceeds policy limit';
    }
    this.actions.push(action);
    if (cancels) this.implicitKeep = false;
    return null;
  }

  /** Either side may declare the conflict (reject knows it conflicts with what delivers, before or after). */
  private conflict(action: Action): string | null {
    for (const earlier of this.actions) {
      const c = action.def.conflict?.(earlier, action) ?? earlier.def.conflict?.(earlier, action) ?? null;
      if (c) return c;
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
