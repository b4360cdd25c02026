/**
 * Writing a message into the per-user Maildirs ec_maildir or the module
 * chose (Momentum's maildir module, src/config/maildir-module.ts), before the reply to the
 * final dot: the qmail way (maildir(5)), a file made in `tmp/` and renamed
 * into `new/`, made durable as the spool makes its own copies (docs/server.md,
 * "The spool"): the file fdatasynced before the rename, `new/` fsynced after
 * it. A mailbox's `new/`, `cur/` and `tmp/` are made when missing (the
 * function refused the recipient already when the mailbox may not be
 * made), with the module's `dirmode`; the file gets its `filemode`.
 */
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { MaildirModuleConfig } from '../config/maildir-module.js';
import { deliversFor, mailboxExists, mailboxPath } from './mailbox-path.js';
import { replyFrom } from '../session/reply.js';
import { parseEnvelopePath } from '../sieve/runtime/address.js';
import type { UserMaildirs } from '../session/session-types.js';
import { uniqueName } from './maildir.js';

/**
 * The session's per-user Maildirs, with the maildir scope as the last
 * reload left it (`module`): the writes, and the module's own delivery for
 * its domains ("The maildir I/O module subverts the regular spooling
 * actions for qualified messages", 3-reference-modules-maildir.md). A
 * recipient of those domains is checked at RCPT TO, so that one without a
 * mailbox is refused before the message is sent ("If set to false, the
 * message will be rejected if the mailbox does not already exist"), and at
 * the final dot its ordinary delivery goes to its Maildir instead
 * (delivery-plan.ts, toModuleMaildirs).
 */
export function userMaildirs(module: () => MaildirModuleConfig | null | undefined): UserMaildirs {
  const taken = (address: string): { m: MaildirModuleConfig; path: string | null } | undefined => {
    const m = module();
    if (!m || (!m.allDomains && !m.domains.length)) return undefined;
    const at = address.lastIndexOf('@');
    if (at < 1 || !deliversFor(m, address.slice(at + 1))) return undefined;
    // The local part as ec_maildir names its Maildir: a quoted one without its quotes and escapes (RFC 5321 4.1.2).
    const path = parseEnvelopePath(address);
    return { m, path: mailboxPath(m, path ? path.local : address.slice(0, at), address.slice(at + 1)) };
  };
  return {
    write: (dirs, message) => writeUserMaildirs(dirs, message, module() ?? { dirMode: 0o700, fileMode: 0o600 }),
    claims: (address) => taken(address)?.path ?? undefined,
    refusal(address) {
      const t = taken(address);
      if (!t) return undefined;
      if (t.path === null) return replyFrom(550, `5.1.1 <${address}>: no such mailbox here`);
      if (t.m.createUsers) return undefined;
      return mailboxExists(t.path).then((exists) => (exists ? undefined : replyFrom(550, `5.1.1 <${address}>: mailbox unavailable`)));
    },
  };
}

export interface UserMaildirModes {
  dirMode: number;
  fileMode: number;
}

/** Writes `message` into each Maildir, all at once; resolves when every copy is durable, rejects at the first that cannot be. */
export async function writeUserMaildirs(dirs: readonly string[], message: Buffer, modes: UserMaildirModes): Promise<void> {
  await Promise.all(dirs.map((dir) => writeOne(dir, message, modes)));
}

async function writeOne(dir: string, message: Buffer, modes: UserMaildirModes): Promise<void> {
  for (const sub of ['tmp', 'new', 'cur']) await mkdir(join(dir, sub), { recursive: true, mode: modes.dirMode });
  const name = uniqueName();
  const tmp = join(dir, 'tmp', name);
  const file = await open(tmp, 'wx', modes.fileMode);
  try {
    await file.writeFile(message);
    await file.datasync();
  } finally {
    await file.close();
  }
  await rename(tmp, join(dir, 'new', name));
  const newDir = await open(join(dir, 'new'), 'r');
  try {
    await newDir.sync();
  } finally {
    await newDir.close();
  }
}
