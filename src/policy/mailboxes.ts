/**
 * The mailboxes a policy's scripts see (docs/sieve-reference.md, "mailbox",
 * "mboxmetadata", "servermetadata", "special-use"): the server has no IMAP
 * store, so the answers come from the configuration's `Mailbox` scopes and
 * `server_metadata` (docs/configuration.md) and, when accepted mail stays
 * in the local Maildir spool, from the folders already in it.
 *
 * - A mailbox exists (RFC 5490 3.1) when it is INBOX, is declared, or is a
 *   Maildir++ folder of the spool: one stat, no directory walk. With routed
 *   delivery the spool is not where folders end up, so only INBOX and the
 *   declared mailboxes exist.
 * - `fileinto` to a mailbox that does not exist still files there: the
 *   spool creates the folder, as Maildir++ delivery does (RFC 5490 3.2
 *   leaves the choice to the implementation); `:create` therefore changes
 *   nothing.
 * - Special-use flags (RFC 8579, RFC 6154) and annotations (RFC 5464) are
 *   read-only: RFC 5490 section 5 gives scripts no way to set them.
 *
 * Built with the policy, so SIGHUP takes a changed configuration.
 */
import { stat } from 'node:fs/promises';
import type { Config, MailboxesConfig } from '../config/index.js';
import { MaildirSpool } from '../delivery/maildir.js';
import type { MaybePromise } from '../sieve/index.js';
import { normalizeMailbox } from '../sieve/runtime/result.js';

export interface MailboxDirectory {
  /** RFC 5490 3.1 mailboxexists: a name as the script wrote it. */
  exists(name: string): MaybePromise<boolean>;
  /** RFC 8579: the declared mailboxes carrying this flag (any case), in declaration order. */
  specialUse(flag: string): readonly string[];
  /** RFC 5490 3.3 / 4.1: an annotation of a mailbox (normalised name) or, for null, of the server. */
  metadata(mailbox: string | null, name: string): string | undefined;
}

/** Where a folder would be stored, when the spool is the store (MaildirSpool.folderDir). */
export type FolderPath = (name: string) => string;

export function mailboxDirectory(config: MailboxesConfig | undefined, folderPath: FolderPath | null): MailboxDirectory {
  const declared = new Map<string, Map<string, string>>();
  const byFlag = new Map<string, string[]>();
  for (const m of config?.mailboxes ?? []) {
    declared.set(m.name, new Map(Object.entries(m.metadata)));
    for (const flag of m.specialUse) {
      const key = flag.toLowerCase();
      const holders = byFlag.get(key) ?? [];
      if (!holders.includes(m.name)) holders.push(m.name);
      byFlag.set(key, holders);
    }
  }
  const server = new Map(Object.entries(config?.serverMetadata ?? {}));
  return {
    exists(name) {
      const box = normalizeMailbox(name);
      if (box === 'INBOX' || declared.has(box)) return true;
      if (!folderPath) return false;
      let dir: string;
      try {
        dir = folderPath(box);
      } catch {
        return false; // a name the spool refuses (one that could leave it, MaildirSpool.folderDir) never exists there
      }
      return stat(dir).then((s) => s.isDirectory(), () => false);
    },
    specialUse: (flag) => byFlag.get(flag.toLowerCase()) ?? [],
    // Entry names were folded to lower case when the configuration was read.
    metadata: (mailbox, name) => (mailbox === null ? server : declared.get(normalizeMailbox(mailbox)))?.get(name.toLowerCase()),
  };
}

/** The directory a configuration gives: its spool's folders count while nothing is routed (docs/delivery.md). */
export function mailboxesFromConfig(config: Config): MailboxDirectory {
  const spool = config.delivery.routed ? null : new MaildirSpool(config.spoolDir);
  return mailboxDirectory(config.mailboxes, spool ? (name) => spool.folderDir(name) : null);
}
