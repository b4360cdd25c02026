/**
 * RFC 5228 section 4: the action commands keep, discard and redirect
 * (fileinto lives in its own extension, RFC 5228 4.1 requires "fileinto").
 */
import type { Action, ActionDef } from '../action.js';
import type { Bound, CommandDef } from '../registry.js';
import { DEFAULT_MAILBOX, normalizeMailbox } from '../runtime/result.js';
import type { Runtime } from '../runtime/runtime.js';
import { formatAddress, parseAddressList } from '../runtime/address.js';
import { constantString } from '../validate.js';

/**
 * The flags a keep or fileinto stores with (RFC 5232 5): its :flags tag
 * when given, else imap4flags' internal variable when that extension has
 * set one in this run (kept in rt.state under "imap4flags").
 */
export function flagsFor(b: Bound, rt: Runtime): string[] | undefined {
  const tag = b.tags.get('flags');
  if (tag) return splitFlags(tag.args.flatMap((v) => rt.list(v)));
  const internal = rt.state.get('imap4flags') as string[] | undefined;
  return internal ? [...internal] : undefined;
}

/** RFC 5232 3: flag lists are space-separated within each string. */
export function splitFlags(items: string[]): string[] {
  const out: string[] = [];
  for (const s of items) for (const f of s.split(' ')) if (f && !out.some((o) => o.toLowerCase() === f.toLowerCase())) out.push(f);
  return out;
}

/**
 * Keep and store (fileinto) into the same mailbox are one action (RFC 5228
 * 4.1, 2.10.3): they share this repeat rule, so either merges with the
 * other; later flags win (RFC 5232 5).
 */
function sameMailbox(earlier: Action, a: Action): 'merge' | undefined {
  if (earlier.target !== a.target) return undefined;
  if (a.flags) earlier.flags = a.flags;
  // A keep merged into a fileinto of the same mailbox makes it the keep (as Pigeonhole reports it).
  if (a.def === keepAction && earlier.def !== keepAction) {
    earlier.def = keepAction;
    earlier.type = keepAction.type;
  }
  return 'merge';
}

const toMailbox = (a: Action): void => {
  a.target = normalizeMailbox(a.target || DEFAULT_MAILBOX);
};

const describeStore = (a: Action): string => `${a.type} ${a.target}${a.flags?.length ? ` flags ${a.flags.join(' ')}` : ''}${a.copy ? ' :copy' : ''}`;

/** RFC 5228 4.3: keep. */
export const keepAction: ActionDef = {
  type: 'keep',
  delivers: true,
  cancelsImplicitKeep: () => true,
  normalize: toMailbox,
  repeat: sameMailbox,
  describe: describeStore,
};

/** RFC 5228 4.1: fileinto (Pigeonhole calls the action "store"). */
export const storeAction: ActionDef = {
  type: 'store',
  delivers: true,
  cancelsImplicitKeep: (a) => !a.copy,
  normalize: toMailbox,
  repeat: sameMailbox,
  describe: describeStore,
};

/** RFC 5228 4.4: discard. */
export const discardAction: ActionDef = {
  type: 'discard',
  cancelsImplicitKeep: () => true,
  describe: () => 'discard',
};

/** RFC 5228 4.2: redirect; redirects to one address collapse (2.10.3), a :copy one keeps the implicit keep (RFC 3894). */
export const redirectAction: ActionDef = {
  type: 'redirect',
  delivers: true,
  limit: 'maxRedirects',
  cancelsImplicitKeep: (a) => !a.copy,
  repeat(earlier, a) {
    if (earlier.target !== a.target) return undefined;
    if (!a.copy) earlier.copy = false;
    return 'merge';
  },
  describe: (a) => `redirect ${a.target}${a.copy ? ' :copy' : ''}`,
};

export const keepCommand: CommandDef = {
  name: 'keep',
  kind: 'command',
  execute: (b, rt) => void rt.take(b, keepAction, { target: DEFAULT_MAILBOX, flags: flagsFor(b, rt) }),
};

export const discardCommand: CommandDef = {
  name: 'discard',
  kind: 'command',
  execute: (b, rt) => void rt.take(b, discardAction),
};

/**
 * RFC 5228 4.2: the address is an RFC 5322 mailbox (a display name is
 * allowed), normalised so that duplicates collapse (2.10.3).
 */
export function normaliseRedirect(text: string): string | null {
  const list = parseAddressList(text);
  return list && list.length === 1 && list[0]!.domain ? formatAddress(list[0]!) : null;
}

export const redirectCommand: CommandDef = {
  name: 'redirect',
  kind: 'command',
  positional: [{ name: 'address', type: 'string' }],
  validate(b, v) {
    const c = constantString(b.args[0]);
    if (c !== null && normaliseRedirect(c) === null) {
      v.error(b.args[0]!.node.pos, `specified redirect address '${c}' is invalid`);
    }
  },
  execute(b, rt) {
    const text = rt.string(b.args[0]!);
    const to = normaliseRedirect(text);
    if (to === null) return rt.fail(`specified redirect address '${text}' is invalid`, b.node.pos);
    // Enclose (RFC 5703 6) does not change what a redirect forwards: the host sends data.forward then.
    const source = rt.redirectSource;
    rt.take(b, redirectAction, { target: to, ...(source ? { message: source, data: { forward: source.raw } } : {}) });
  },
};
