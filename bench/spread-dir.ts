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
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removedAtExit } from './temp-dirs.js';

export interface SpreadDir {
  /** The directory to use, new; when placed afresh it holds the probe's files, in probe/. */
  dir: string;
  /** Whether it was placed afresh; when not, why not (another file system, no chattr). */
  spread: boolean;
  why?: string;
  /** Directories made to find one where a file costs what it does on a rested disk (SLOW_US), at most TRIES. */
  tries: number;
  /** What a file cost in the one chosen (µs of system time), when it was placed afresh. */
  probeUs?: number;
  /** Removes it and the parent made for it (which the process's end removes otherwise, bench/temp-dirs.ts). */
  remove(): Promise<void>;
}

/**
 * Past this many µs of system time a file, a directory is in a group full
 * of freed inodes: a rested disk takes 20-40, one just emptied about 1,000.
 */
const SLOW_US = 200;
const TRIES = 5;

export async function spreadTempDir(prefix: string): Promise<SpreadDir> {
  const parent = await mkdtemp(join(tmpdir(), prefix));
  const remove = removedAtExit(parent);
  const marked = spawnSync('chattr', ['+T', parent], { encoding: 'utf8' });
  const spread = marked.status === 0;
  const why = spread ? undefined : (marked.error?.message ?? marked.stderr.trim()) || `chattr exited ${marked.status}`;
  // Orlov may choose the group another run has just emptied (it has the most free inodes): then another. The
  // directories left behind count against their group at the next choice. A group may begin with a few hundred
  // clean inodes before the freed ones: the probe makes a thousand files.
  let dir: string;
  let tries = 0;
  let probeUs: number | undefined;
  do {
    dir = await mkdtemp(join(parent, 'run-'));
    tries++;
    if (spread) probeUs = fileCreationUs(join(dir, 'probe'), 1000);
  } while (probeUs !== undefined && probeUs > SLOW_US && tries < TRIES);
  return { dir, spread, ...(why ? { why } : {}), tries, ...(probeUs !== undefined ? { probeUs } : {}), remove };
}

/**
 * System CPU time a file (µs) for creating and writing `count` files of 1 KB
 * in a new directory `dir`, as the spool does but without its syncs. The
 * files stay until their parent goes: deleting them would itself slow the
 * next creations on a disk that skips recently freed inodes.
 */
export function fileCreationUs(dir: string, count = 200): number {
  mkdirSync(dir);
  const bytes = Buffer.alloc(1024, 0x61);
  const before = process.cpuUsage().system;
  for (let i = 0; i < count; i++) {
    const fd = openSync(join(dir, String(i)), 'wx');
    writeSync(fd, bytes);
    closeSync(fd);
  }
  return (process.cpuUsage().system - before) / count;
}
