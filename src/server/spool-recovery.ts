/**
 * Start-up's clean-up of the spool (MaildirSpool.recover, docs/server.md,
 * "The spool"), logged as `serve` and a cluster's primary both log it: one
 * `spool` line, a `spool-restore` warning for records that could not be
 * written back after a reboot, and a `spool-filesystem` warning when the
 * spool is on ext4 without a journal ("The spool's file system").
 */
import type { Logger } from 'pino';
import type { MaildirSpool } from '../delivery/maildir.js';
import { ext4WithoutJournal } from '../delivery/spool-filesystem.js';

export async function recoverSpool(spool: MaildirSpool, dir: string, logger: Logger): Promise<void> {
  const recovered = await spool.recover();
  logger.info({ event: 'spool', dir, ...recovered }, 'spool ready');
  if (recovered.restoreFailed) logger.warn({ event: 'spool-restore', failed: recovered.restoreFailed }, 'messages not written back from the journal after a reboot: their octets stay in it for the next start');
  const device = ext4WithoutJournal(dir);
  if (device) logger.warn({ event: 'spool-filesystem', dir, device }, 'the spool is on ext4 without a journal: while messages are deleted beside it, each new message file may cost up to a millisecond (docs/server.md, "The spool\'s file system")');
}
