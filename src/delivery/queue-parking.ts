/**
 * Deferred queue entries parked until their next retry (docs/delivery.md,
 * "The queue"): an entry whose recipients all wait for a later attempt
 * keeps only its id, its due time, its recipients' counts by state and the
 * operator commands it had applied; its file holds the rest, and the queue
 * reads it back when it is due. One timer serves them all, over a heap by
 * due time: a timer each was a quarter of a parked entry's memory.
 *
 * Entries due together wake at most WAKE_AT_ONCE at a time (each wake
 * reads its file), so a backlog that comes due at once does not open
 * thousands of files together.
 */
import type { EntryState } from './queue-entry.js';
import { isFinal } from './queue-entry.js';

export interface ParkedEntry {
  readonly id: string;
  /** When its next retry is due (epoch ms). */
  readonly at: number;
  /** Its recipients not yet final, by state (the queue's depth). */
  readonly counts: Record<string, number>;
  /** The operator commands it had applied (absent: none): one in its file that is not among them wakes it. */
  readonly commands?: ReadonlySet<string>;
}

const WAKE_AT_ONCE = 32;
const MAX_TIMER = 2 ** 31 - 1;

export class ParkedEntries {
  private readonly byId = new Map<string, ParkedEntry>();
  /** Min-heap by `at`; an entry no longer parked as it was stays until it is popped, then is skipped. */
  private heap: ParkedEntry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private waking = 0;
  private stopped = false;

  /** `due` wakes an entry; the promise settles when its file has been read. */
  constructor(private readonly due: (entry: ParkedEntry) => Promise<void>) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): ParkedEntry | undefined {
    return this.byId.get(id);
  }

  ids(): string[] {
    return [...this.byId.keys()];
  }

  values(): IterableIterator<ParkedEntry> {
    return this.byId.values();
  }

  park(id: string, at: number, state: EntryState): void {
    const entry: ParkedEntry = { id, at, counts: pendingCounts(state), ...(state.commands.size ? { commands: state.commands } : {}) };
    this.byId.set(id, entry);
    this.push(entry);
    this.arm();
  }

  /** Takes the entry out as it wakes: false when it is no longer parked as `entry` (woken already). */
  unpark(entry: ParkedEntry): boolean {
    if (this.byId.get(entry.id) !== entry) return false;
    this.byId.delete(entry.id);
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Wakes the entries that are due, a few at a time; sets the timer for the next. */
  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    while (!this.stopped && this.waking < WAKE_AT_ONCE && this.heap.length && this.heap[0]!.at <= now) {
      const entry = this.pop();
      if (this.byId.get(entry.id) !== entry) continue;
      this.waking++;
      void this.due(entry).finally(() => {
        this.waking--;
        this.fire();
      });
    }
    this.arm();
  }

  private arm(): void {
    while (this.heap.length && this.byId.get(this.heap[0]!.id) !== this.heap[0]) this.pop();
    if (this.stopped || !this.heap.length || this.waking >= WAKE_AT_ONCE) return;
    const at = this.heap[0]!.at;
    if (at >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.min(MAX_TIMER, Math.max(0, at - Date.now())));
    this.timer.unref();
  }

  private push(entry: ParkedEntry): void {
    const h = this.heap;
    h.push(entry);
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= h[i]!.at) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private pop(): ParkedEntry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < h.length && h[l]!.at < h[least]!.at) least = l;
        if (r < h.length && h[r]!.at < h[least]!.at) least = r;
        if (least === i) break;
        [h[least], h[i]] = [h[i]!, h[least]!];
        i = least;
      }
    }
    return top;
  }
}

/** An entry's recipients not yet final, by state. */
export function pendingCounts(state: EntryState): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of state.recipients) if (!isFinal(r)) out[r.state] = (out[r.state] ?? 0) + 1;
  return out;
}
