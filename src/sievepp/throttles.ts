/**
 * Named throttles (sieve-ref-ec-throttle.md): "X/Y", at most X messages
 * every Y seconds, each throttle counted in fixed windows of Y seconds
 * (in this process; a cluster's in its primary, through ThrottleStore). A tarpit whose window is full gives the message a
 * place in the first later window with room, and makes it wait for that
 * window: so a queue of waiting messages keeps to the rate instead of all
 * going at once when the window ends. Messages counted with
 * ec_throttle_inc (and then, say, refused) count in their own window only.
 *
 * At most `capacity` throttles are kept (Momentum's siv_throttle_cache_size,
 * 1000 by default): creating one more drops the least recently used. A
 * throttle not used for its interval and one second more is dropped too,
 * as Momentum's are (unless a tarpit sent messages into a window still to
 * come); a script creates the throttle before each use (a
 * create of one that exists changes nothing), so a dropped one is only
 * ever started again.
 */
import { LruMap } from '../lru-map.js';

export interface ThrottleRate {
  messages: number;
  seconds: number;
}

interface Throttle {
  rate: ThrottleRate;
  /** When the current window began, ms. */
  start: number;
  /** Messages counted in the current window. */
  count: number;
  /** Messages a tarpit gave places in later windows, X to a window, the earliest first. */
  ahead: number;
  lastUsed: number;
}

/** "30/1" as a rate; undefined when it is not two positive whole numbers. */
export function parseThrottleRate(text: string): ThrottleRate | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return undefined;
  const messages = Number(m[1]);
  const seconds = Number(m[2]);
  return messages > 0 && seconds > 0 ? { messages, seconds } : undefined;
}

/**
 * Named throttles as the Sieve functions use them: NamedThrottles in a
 * process of its own, or the primary's for a cluster worker (one server's
 * throttles, as one Momentum node's; src/store/cluster-throttles.ts), whose
 * answers take a round trip; for ec_shared_throttle_*, Redis's, counted by
 * every server sharing it (src/store/redis-throttles.ts).
 */
export interface ThrottleStore {
  create(name: string, rate: ThrottleRate, now: number): void;
  inc(name: string, now: number): boolean | Promise<boolean>;
  dec(name: string, now: number): boolean | Promise<boolean>;
  exceeded(name: string, now: number): boolean | undefined | Promise<boolean | undefined>;
  tarpit(name: string, now: number): number | undefined | Promise<number | undefined>;
}

export class NamedThrottles implements ThrottleStore {
  /** The least recently used goes first (src/lru-map.ts: a throttle used by every message moves nothing). */
  private readonly throttles: LruMap<string, Throttle>;

  constructor(readonly capacity = 1000) {
    this.throttles = new LruMap(capacity);
  }

  /** Creates the throttle unless one of that name is kept (then nothing changes, its rate included). */
  create(name: string, rate: ThrottleRate, now: number): void {
    if (this.get(name, now)) return;
    this.throttles.set(name, { rate, start: now, count: 0, ahead: 0, lastUsed: now });
  }

  /** Counts one message; false when there is no such throttle. */
  inc(name: string, now: number): boolean {
    const t = this.get(name, now);
    if (t) t.count++;
    return t !== undefined;
  }

  /** Takes back one message counted; false when there is no such throttle. */
  dec(name: string, now: number): boolean {
    const t = this.get(name, now);
    if (t) t.count = Math.max(0, t.count - 1);
    return t !== undefined;
  }

  /** Whether the throttle's window holds more than its messages; undefined when there is no such throttle. */
  exceeded(name: string, now: number): boolean | undefined {
    const t = this.get(name, now);
    return t && t.count > t.rate.messages;
  }

  /**
   * Counts one message and says how long it must wait, ms: 0 while the
   * window has room; else until the first later window with room, where it
   * takes a place. Undefined when there is no such throttle.
   */
  tarpit(name: string, now: number): number | undefined {
    const t = this.get(name, now);
    if (!t) return undefined;
    if (t.count < t.rate.messages) {
      t.count++;
      return 0;
    }
    const window = 1 + Math.floor(t.ahead / t.rate.messages);
    t.ahead++;
    return t.start + window * t.rate.seconds * 1000 - now;
  }

  /**
   * The throttle, its window moved on to `now`; undefined, and dropped,
   * once unused past its interval and a second with nothing left to count
   * (places a tarpit gave in later windows keep it).
   */
  private get(name: string, now: number): Throttle | undefined {
    const t = this.throttles.get(name);
    if (!t) return undefined;
    const windowMs = t.rate.seconds * 1000;
    const ended = Math.floor((now - t.start) / windowMs);
    if (ended > 0) {
      // Each window that began takes its share of the places a tarpit gave out; past the last of them, nothing.
      const served = Math.min(t.ahead, (ended - 1) * t.rate.messages);
      t.count = Math.min(t.ahead - served, t.rate.messages);
      t.ahead -= served + t.count;
      t.start += ended * windowMs;
    }
    if (t.count === 0 && t.ahead === 0 && now - t.lastUsed > windowMs + 1000) {
      this.throttles.delete(name);
      return undefined;
    }
    t.lastUsed = now;
    return t;
  }
}
