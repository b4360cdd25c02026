/**
 * Temporary directories a benchmark removes however it ends: at its
 * normal end (remove()), when an exception ends it (its output's reader
 * gone, for one: `| head` ends it with EPIPE), or on SIGINT or SIGTERM. A
 * spool left behind is tens of megabytes in the temporary directory, and
 * deleting its files later slows the next run's (bench/spread-dir.ts).
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

/** Directories still to remove when the process ends. */
const left = new Set<string>();
let hooked = false;

/** Removes `dir`, with all it holds, when the process ends; the function returned removes it now instead. */
export function removedAtExit(dir: string): () => Promise<void> {
  if (!hooked) {
    hooked = true;
    // 'exit' handlers run on a normal end, process.exit(), an uncaught exception and an unhandled rejection; a
    // signal's default action ends the process without them, so the two an operator sends exit instead.
    process.on('exit', () => {
      for (const d of left) rmSync(d, { recursive: true, force: true });
    });
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(128 + constants.signals[signal]));
  }
  left.add(dir);
  return () => {
    left.delete(dir);
    return rm(dir, { recursive: true, force: true });
  };
}

/** A new directory in the temporary directory, removed however the benchmark ends. */
export async function benchTempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: removedAtExit(dir) };
}
