/**
 * The mailboxes a policy's scripts see (docs/sieve-reference.md, "mailbox",
 * "mboxmetadata", "servermetadata", "special-use"): the server has no IMAP
 * store, so the answers come from the configuration's `Mailbox` scopes and
 * `server_metadata` (docs/configuration.md) and, when the store is the
 * local Maildir spool, from the folders already in it.
 *
 * - A mailbox exists (RFC 5490 3.1) when it is INBOX, is declared, or is a
 *   Maildir++ folder of the spool the server files into: one stat, no
 *   directory walk. The spool is a long-lived service (PolicyServices
 *   .folderExists), set only when accepted mail goes there: with routed
 *   delivery, beside an MTA or in a dry run only INBOX and the declared
 *   mailboxes exist.
 * - `fileinto` to a mailbox that does not exist still files there: the
 *   spool creates the folder, as Maildir++ delivery does (RFC 5490 3.2
 *   leaves the choice to the implementation); `:create` therefore changes
 *   nothing.
 * - Special-use flags (RFC 8579, RFC 6154) and annotations (RFC 5464) are
 *   read-only: RFC 5490 section 5 gives scripts no way to set them.
 *
 * The directory is built with the policy, so SIGHUP takes a changed
 * configuration; the spool stays the one opened at start-up.
 */
import { stat } from 'node:fs/promises';
import type { MailboxesConfig } from '../config/index.js';
import type { MaildirSpool } from '../delivery/maildir.js';
import type { MaybePromise } from '../sieve/index.js';
import { normalizeMailbox } from '../sieve/runtime/result.js';

export interface MailboxDirectory {
  /** RFC 5490 3.1 mailboxexists: a name as the script wrote it; `folderExists` asks the store for the rest. */
  exists(name: string, folderExists?: FolderExists): MaybePromise<boolean>;
  /** RFC 8579: the declared mailboxes carrying this flag (any case), in declaration order. */
  specialUse(flag: string): readonly string[];
  /** RFC 5490 3.3 / 4.1: an annotation of a mailbox (normalised name) or, for null, of the server. */
  metadata(mailbox: string | null, name: string): string | undefined;
}

/** Does the store hold this folder (a normalised name)? */
export type FolderExists = (name: string) => Promise<boolean>;

export function mailboxDirectory(config: MailboxesConfig | undefined): MailboxDirectory {
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
    exists(name, folderExists) {
      const box = normalizeMailbox(name);
      if (box === 'INBOX' || declared.has(box)) return true;
      return folderExists ? folderExists(box) : false;
    },
    specialUse: (flag) => byFlag.get(flag.toLowerCase()) ?? [],
    // Entry names were folded to lower case when the configuration was read.
    metadata: (mailbox, name) => (mailbox === null ? server : declared.get(normalizeMailbox(mailbox)))?.get(name.toLowerCase()),
  };
}

/** The spool's folders, for PolicyServices.folderExists: a stat of the Maildir++ folder. */
export function spoolFolders(spool: MaildirSpool): FolderExists {
  return (name) => {
    let dir: string;
    try {
      dir = spool.folderDir(name);
    } catch {
      return Promise.resolve(false); // a name the spool refuses (one that could leave it) never exists there
    }
    return stat(dir).then((s) => s.isDirectory(), () => false);
  };
}
