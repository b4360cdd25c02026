/**
 * Whether the spool is on ext4 without a journal, where making a file is
 * dear under churn (docs/server.md, "The spool's file system"):
 * ext4 then skips every inode freed in the last minutes in the directory's
 * block group, one buffer look-up each, so a spool whose reader deletes
 * messages as fast as they arrive pays up to about a millisecond for each
 * new message file, where with a journal (ext4's default) it pays tens of
 * microseconds. Start-up says so once (src/server/spool-recovery.ts).
 *
 * Linux shows each mounted ext4 file system under /proc/fs/ext4/<device>,
 * and each running jbd2 journal under /proc/fs/jbd2/<device>-<inode>; a
 * directory's device is found from its device number through
 * /sys/dev/block/<major>:<minor>.
 */
import { existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Where /proc and /sys are: a test gives a tree of its own. */
export interface SystemRoots {
  proc: string;
  sys: string;
}

const LINUX: SystemRoots = { proc: '/proc', sys: '/sys' };

/**
 * The name of the block device holding `dir` when it is ext4 running
 * without a journal; undefined otherwise, and wherever that cannot be told
 * (not Linux, not a block device, /proc or /sys unreadable).
 */
export function ext4WithoutJournal(dir: string, roots: SystemRoots = LINUX, platform: NodeJS.Platform = process.platform): string | undefined {
  if (platform !== 'linux') return undefined;
  try {
    const { major, minor } = deviceNumbers(statSync(dir, { bigint: true }).dev);
    const device = basename(realpathSync(join(roots.sys, 'dev', 'block', `${major}:${minor}`)));
    if (!existsSync(join(roots.proc, 'fs', 'ext4', device))) return undefined;
    const journals = existsSync(join(roots.proc, 'fs', 'jbd2')) ? readdirSync(join(roots.proc, 'fs', 'jbd2')) : [];
    return journals.some((j) => j.startsWith(`${device}-`)) ? undefined : device;
  } catch {
    return undefined;
  }
}

/** A device number (dev_t) taken apart as glibc's major() and minor() do. */
export function deviceNumbers(dev: bigint): { major: bigint; minor: bigint } {
  return { major: ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n), minor: (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n) };
}
