/**
 * Removes one file, and is content when it is gone already. `rm(path, {
 * force: true })` does the same with an lstat(2) before the unlink(2): a
 * second trip to the thread pool for every spool file and queue entry let
 * go of, where the unlink's own ENOENT already says the file is gone.
 */
import { unlink } from 'node:fs/promises';

export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}
