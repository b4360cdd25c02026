/**
 * Readiness (docs/operations.md, "Health checks"): whether this server
 * should be sent new connections. Not ready while it drains (SIGTERM),
 * while the spool cannot be written (accepted mail would get 451), or
 * while a Redis marked `required` is unreachable. Liveness (`/healthz`) is
 * only "the process answers".
 */
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReadinessOptions {
  /** The Maildir spool; its tmp/ must take a write. */
  spoolDir: string;
  /** A Redis the operator marked required: is it up now? */
  redisUp?: () => boolean;
  /** More conditions (the cluster primary: at least one worker listening). */
  extra?: () => string | undefined;
}

export class Readiness {
  draining = false;

  /** A Redis the operator marked required: is it up now? (Settable once the connection exists.) */
  redisUp: (() => boolean) | undefined;

  constructor(private readonly o: ReadinessOptions) {
    this.redisUp = o.redisUp;
  }

  /** Why the server is not ready; empty when it is. */
  async problems(): Promise<string[]> {
    const out: string[] = [];
    if (this.draining) out.push('draining');
    if (!(await spoolWritable(this.o.spoolDir))) out.push('spool not writable');
    if (this.redisUp && !this.redisUp()) out.push('required redis unreachable');
    const extra = this.o.extra?.();
    if (extra) out.push(extra);
    return out;
  }
}

/** A real write, not a permission check: a full disk or a read-only remount fails here too. */
async function spoolWritable(dir: string): Promise<boolean> {
  const probe = join(dir, 'tmp', `.readyz-${process.pid}`);
  try {
    await writeFile(probe, 'ok');
    await unlink(probe);
    return true;
  } catch {
    return false;
  }
}
