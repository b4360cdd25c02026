/**
 * A temporary directory for a benchmark's spool that ext4 places afresh,
 * away from the files other work has just deleted (docs/server.md, "The
 * spool", "Where a benchmark's spool goes").
 *
 * On ext4 without a journal, a new file's inode is looked for in its
 * directory's group, skipping every inode freed there in the last minutes,
 * one buffer look-up each: after the test suite, or a benchmark's own
 * clean-up, has deleted tens of thousands of files beside it, creating one
 * file costs about a millisecond instead of 20-40 µs, and an accept-rate
 * run measures the disk's history rather than the server. A directory
 * made in the temporary directory lands in that one's group (or the next
 * with room), beside everything else made and deleted there; the children
 * of a directory marked "top" (chattr +T, ext4's Orlov allocator) are
 * spread over the groups with more free inodes than the average, as
 * top-level directories are.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpreadDir {
  /** The directory to use: empty, new. */
  dir: string;
  /** Whether it was placed afresh; when not, why not (another file system, no chattr). */
  spread: boolean;
  why?: string;
  /** Removes it and the parent made for it. */
  remove(): Promise<void>;
}

export async function spreadTempDir(prefix: string): Promise<SpreadDir> {
  const parent = await mkdtemp(join(tmpdir(), prefix));
  const marked = spawnSync('chattr', ['+T', parent], { encoding: 'utf8' });
  const spread = marked.status === 0;
  const why = spread ? undefined : (marked.error?.message ?? marked.stderr.trim()) || `chattr exited ${marked.status}`;
  const dir = await mkdtemp(join(parent, 'run-'));
  return { dir, spread, ...(why ? { why } : {}), remove: () => rm(parent, { recursive: true, force: true }) };
}
