/**
 * Which vacation replies were sent, so that a sender gets at most one reply
 * per `:days` (or `:seconds`) period for one response handle of one
 * recipient (RFC 5230 4.2, RFC 6131). Kept in memory and written to
 * `<queue_dir>/vacation.json` a moment after each change; losing the last
 * changes in a crash means one more reply, nothing worse.
 *
 * With `shared` (the server's list of ids with periods, src/store/duplicates.ts)
 * every reply is also recorded there, and a reply is sent only when neither
 * list knows of one: workers then share their replies through their primary,
 * and processes that share a Redis through Redis (docs/delivery.md, "Workers").
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import type { DuplicateStore } from '../store/duplicates.js';

const SAVE_DELAY_MS = 1000;

const key = (recipient: string, sender: string, handle: string) => `${recipient.toLowerCase()}\0${sender.toLowerCase()}\0${handle}`;
/** Its key in the shared list, which no duplicate test's id can take: those are a :handle, one NUL and an id, and a Sieve string holds no NUL. */
const sharedKey = (k: string) => `vacation\0\0${k}`;

export class VacationMemory {
  private until = new Map<string, number>();
  private loaded: Promise<void> | null = null;
  private saveTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly file: string,
    private shared?: DuplicateStore,
  ) {}

  /** Records every reply in `shared` too, and asks it before replying. */
  share(shared: DuplicateStore): void {
    this.shared = shared;
  }

  /** False within the period of an earlier reply to this sender for this handle. */
  async mayReply(recipient: string, sender: string, handle: string, now = Date.now()): Promise<boolean> {
    this.loaded ??= this.load();
    await this.loaded;
    const k = key(recipient, sender, handle);
    const until = this.until.get(k);
    if (until !== undefined && until > now) return false;
    return !(this.shared && (await this.shared.seen(sharedKey(k))));
  }

  /** A reply was queued: none again to this sender for this handle within the period. */
  remember(recipient: string, sender: string, handle: string, periodSeconds: number, now = Date.now()): void {
    const k = key(recipient, sender, handle);
    const seconds = Math.max(0, periodSeconds);
    this.until.set(k, now + seconds * 1000);
    // Recorded afresh (as :last is), so that the shared period is this reply's.
    if (seconds > 0) this.shared?.record([{ id: sharedKey(k), seconds, last: true, duplicate: false }]);
    this.scheduleSave(now);
  }

  private async load(): Promise<void> {
    try {
      const data = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, number>;
      const now = Date.now();
      for (const [k, v] of Object.entries(data)) if (typeof v === 'number' && v > now) this.until.set(k, v);
    } catch {
      // No file yet, or a torn one: start empty (at worst a sender gets one more reply).
    }
  }

  private scheduleSave(now: number): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null;
      for (const [k, v] of this.until) if (v <= now) this.until.delete(k);
      const tmp = `${this.file}.tmp`;
      void writeFile(tmp, JSON.stringify(Object.fromEntries(this.until)))
        .then(() => rename(tmp, this.file))
        .catch(() => undefined);
    }, SAVE_DELAY_MS);
    this.saveTimer.unref();
  }
}
