/**
 * RFC 5228 section 4: the action commands keep, discard and redirect
 * (fileinto lives in its own extension, RFC 5228 4.1 requires "fileinto").
 */
import type { Bound, CommandDef } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';
import { formatAddress, parseEnvelopePath } from '../runtime/address.js';
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

export const keepCommand: CommandDef = {
  name: 'keep',
  kind: 'command',
  execute: (b, rt) => rt.addAction({ type: 'keep', pos: b.node.pos, target: 'INBOX', flags: flagsFor(b, rt) }, true),
};

export const discardCommand: CommandDef = {
  name: 'discard',
  kind: 'command',
  execute: (b, rt) => rt.addAction({ type: 'discard', pos: b.node.pos }, true),
};

/** RFC 5228 4.2: the address must be a valid RFC 5322 address; normalised so duplicates collapse. */
function normaliseRedirect(text: string): string | null {
  const a = parseEnvelopePath(text.trim());
  return a ? formatAddress(a) : null;
}

export const redirectCommand: CommandDef = {
  name: 'redirect',
  kind: 'command',
  positional: [{ name: 'address', type: 'string' }],
  validate(b, v) {
    const c = constantString(b.args[0]);
    if (c !== null && normaliseRedirect(displayless(c)) === null) {
      v.error(b.args[0]!.node.pos, `specified redirect address '${c}' is invalid`);
    }
  },
  execute(b, rt) {
    const text = rt.string(b.args[0]!);
    const to = normaliseRedirect(displayless(text));
    if (to === null) return rt.fail(`specified redirect address '${text}' is invalid`, b.node.pos);
    const copy = b.tags.has('copy');
    rt.addAction({ type: 'redirect', pos: b.node.pos, target: to, copy }, !copy);
  },
};

/** "Name <a@b>" to "<a@b>": redirect accepts a mailbox with a display name. */
function displayless(s: string): string {
  const m = /<([^<>]*)>\s*$/.exec(s);
  return m ? `<${m[1]}>` : s;
}
