/**
 * Writing a message into the per-user Maildirs ec_maildir chose (Momentum's
 * maildir module, src/config/maildir-module.ts), before the reply to the
 * final dot: the qmail way (maildir(5)), a file made in `tmp/` and renamed
 * into `new/`, made durable as the spool makes its own copies (docs/server.md,
 * "The spool"): the file fdatasynced before the rename, `new/` fsynced after
 * it. A mailbox's `new/`, `cur/` and `tmp/` are made when missing (the
 * function refused the recipient already when the mailbox may not be
 * made), with the module's `dirmode`; the file gets its `filemode`.
 */
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { uniqueName } from './maildir.js';

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
