/**
 * Mailboxes in the configuration (docs/configuration.md, `Mailbox` and
 * `server_metadata`): what the Sieve "mailbox", "mboxmetadata",
 * "servermetadata" (RFC 5490) and "special-use" (RFC 8579) extensions are
 * answered from, since the server has no IMAP store to ask. The checks are
 * the Sieve core's own, so a name or flag the configuration accepts is one
 * a script can reach; each error points at the value written wrongly.
 */
import type { ConfScalar, ConfValue } from '../../grammars/ecconf.js';
import { mailboxNameProblem } from '../sieve/extensions/fileinto.js';
import { isAnnotationName } from '../sieve/extensions/metadata.js';
import { isSpecialUseFlag } from '../sieve/extensions/special-use.js';
import { normalizeMailbox } from '../sieve/runtime/result.js';
import type { OptionSpec, ScopeSpec } from './schema.js';
import { opt } from './option.js';
import * as t from './values.js';
import type { ScopeInstance } from './walk.js';

/** RFC 6154 section 2's attributes; others load with a warning (a typo is likelier than a private one). */
export const RFC6154_FLAGS = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];

const specialUseFlag: t.ValueType<string> = {
  label: 'special-use flag',
  parse(v, ctx) {
    const r = t.string.parse(v, ctx);
    if (!r.ok || isSpecialUseFlag(r.value)) return r;
    return { ok: false, problems: [{ message: `expected a special-use flag such as "\\\\Junk" (RFC 6154: a backslash and an atom), found '${r.value}'`, pos: v.pos }] };
  },
};

/**
 * `[ "/shared/comment" = "text" ... ]`: RFC 5464 entry names, folded to
 * lower case (IMAP servers compare them without regard to case), each once.
 */
const annotations: t.ValueType<Record<string, string>> = {
  label: 'array of annotation = string',
  parse(v: ConfValue, ctx) {
    const r = t.arrayOf(t.string, true).parse(v, ctx);
    if (!r.ok || v.kind !== 'array') return r;
    const bad = v.entries.find((e) => !isAnnotationName(e.key));
    if (!bad) return r;
    return { ok: false, problems: [{ message: `expected an annotation name such as "/shared/comment" (RFC 5464: /private or /shared, then /-separated parts without * or %), found '${bad.key}'`, pos: bad.keyPos }] };
  },
};

export const mailboxOptions = {
  specialUse: opt('special_use', t.listOf(specialUseFlag), '( )', 'RFC 6154 special-use flags this mailbox carries, e.g. `( "\\\\Junk" )`: what `specialuse_exists` and `fileinto :specialuse` find.'),
  metadata: opt('metadata', annotations, '[ ]', 'The mailbox\'s annotations (RFC 5464), e.g. `[ "/shared/comment" = "spam lands here" ]`: what `metadata` and `metadataexists` read.'),
};
export const serverMetadataOptions = {
  serverMetadata: opt('server_metadata', annotations, '[ ]', 'Server annotations (RFC 5464), e.g. `[ "/shared/admin" = "mailto:postmaster@example.com" ]`: what `servermetadata` and `servermetadataexists` read.'),
};

function checkMailboxName(n: ConfScalar): string | undefined {
  return mailboxNameProblem(n.text) ?? undefined;
}

export const mailboxScope: ScopeSpec = {
  name: 'Mailbox', doc: 'A mailbox Sieve scripts may test for and file into: its special-use flags and annotations (RFC 5490, RFC 8579).', repeat: 'by-name',
  names: { min: 1, max: 1, label: 'mailbox name', check: checkMailboxName }, options: Object.values(mailboxOptions), scopes: [],
};

export interface MailboxConfig {
  /** Normalised as Sieve normalises it (RFC 3501 5.1: "INBOX" in any case is INBOX). */
  name: string;
  /** As written; they compare without regard to case. */
  specialUse: string[];
  /** Lower-case entry name -> value. */
  metadata: Record<string, string>;
}

export interface MailboxesConfig {
  mailboxes: MailboxConfig[];
  serverMetadata: Record<string, string>;
}

/** Warnings go to `warn` (a flag outside RFC 6154, a flag given to two mailboxes). */
export function buildMailboxes(root: ScopeInstance, defaults: <T>(spec: OptionSpec<T>) => T | null, warn: (s: ScopeInstance, message: string) => void): MailboxesConfig {
  const v = <T>(spec: OptionSpec<T>, s: ScopeInstance): T => (s.options.get(spec.name.toLowerCase())?.value as T | undefined) ?? (defaults(spec) as T);
  const mailboxes: MailboxConfig[] = [];
  const holder = new Map<string, string>();
  for (const s of root.children) {
    if (!s.valid || s.spec !== mailboxScope) continue;
    const name = normalizeMailbox(s.names[0]?.text ?? '');
    const specialUse = v(mailboxOptions.specialUse, s);
    for (const flag of specialUse) {
      const key = flag.toLowerCase();
      if (!RFC6154_FLAGS.some((f) => f.toLowerCase() === key)) warn(s, `Mailbox "${name}": '${flag}' is not one of RFC 6154's special-use flags (${RFC6154_FLAGS.join(' ')})`);
      const first = holder.get(key);
      // RFC 8579 3.3 files into one mailbox: the first declared wins, as the document says.
      if (first !== undefined && first !== name) warn(s, `Mailbox "${name}": '${flag}' is also on "${first}", which fileinto :specialuse chooses`);
      else holder.set(key, name);
    }
    mailboxes.push({ name, specialUse, metadata: v(mailboxOptions.metadata, s) });
  }
  return { mailboxes, serverMetadata: (root.options.get(serverMetadataOptions.serverMetadata.name)?.value as Record<string, string> | undefined) ?? {} };
}
