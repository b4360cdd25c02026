/**
 * Momentum-style per-IP and named counters (ec_ip_connections,
 * ec_ip_receptions, ec_ip_rejections, audit_series: src/sievepp/counters.ts)
 * counted across every process that shares a Redis.
 *
 * The Sieve++ CounterStore interface is synchronous (a script reads a
 * counter in the middle of a run), and Redis is not, so this store is a
 * mirror: every `add` goes to Redis at once (HINCRBY on the series' time
 * bucket) and into a snapshot of the key's buckets here; a `read` answers
 * from the snapshot and, when it is older than `refreshMs`, fetches the
 * cluster's buckets in the background. A key read for the first time, or
 * while Redis is down, answers from this process's own counts. So a read
 * sees this process's events at once and the others' within about
 * `refreshMs`: the same slack Momentum's own audit series have across
 * event loops.
 */
import { MemoryCounterStore, type CounterStore } from '../sievepp/counters.js';
import type { RedisLink } from './redis-link.js';

interface Shape {
  bucketSeconds: number;
  buckets: number;
}

interface Snapshot {
  /** bucket start (seconds) -> count, cluster-wide as of the last fetch, plus our adds since. */
  buckets: Map<number, number>;
  /** False until the first fetch answered: until then reads use this process's own counts. */
  fetched: boolean;
  fetchedAt: number;
  fetching: boolean;
}

/** Keys mirrored at most; the least recently fetched go first. */
const MAX_SNAPSHOTS = 10_000;

export class SharedCounterStore implements CounterStore {
  private readonly local: MemoryCounterStore;
  private readonly shapes = new Map<string, Shape>();
  private readonly snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly link: RedisLink,
    private readonly defaults: Shape = { bucketSeconds: 60, buckets: 60 },
    private readonly refreshMs = 1000,
  ) {
    this.local = new MemoryCounterStore(defaults);
  }

  /** Declares a series' windows, as MemoryCounterStore.define. */
  define(name: string, bucketSeconds: number, buckets: number): void {
    this.shapes.set(name, { bucketSeconds, buckets });
    this.local.define(name, bucketSeconds, buckets);
  }

  add(series: string, key: string, by: number, now: number): void {
    this.local.add(series, key, by, now);
    const shape = this.shape(series);
    const bucket = Math.floor(now / 1000 / shape.bucketSeconds) * shape.bucketSeconds;
    const hash = this.hashKey(series, key);
    const retentionMs = shape.bucketSeconds * shape.buckets * 1000;
    void this.link.attempt((c) => c.multi().hincrby(hash, String(bucket), by).pexpire(hash, retentionMs).exec());
    const snap = this.snapshots.get(hash);
    if (snap) snap.buckets.set(bucket, (snap.buckets.get(bucket) ?? 0) + by);
  }

  read(series: string, key: string, now: number, seconds?: number): number {
    const hash = this.hashKey(series, key);
    const snap = this.snapshots.get(hash);
    if (this.link.up && (!snap || now - snap.fetchedAt > this.refreshMs)) this.refresh(series, hash, now);
    if (!snap?.fetched || !this.link.up) return this.local.read(series, key, now, seconds);
    const shape = this.shape(series);
    const span = Math.min(seconds ?? shape.bucketSeconds * shape.buckets, shape.bucketSeconds * shape.buckets);
    let n = 0;
    for (const [t, c] of snap.buckets) if (t + shape.bucketSeconds > now / 1000 - span) n += c;
    return n;
  }

  /** Fetches the cluster's buckets; adds made while it is on its way are kept on top. */
  private refresh(series: string, hash: string, now: number): void {
    let pending = this.snapshots.get(hash);
    if (pending?.fetching) return;
    if (!pending) {
      if (this.snapshots.size >= MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value as string);
      pending = { buckets: new Map(), fetched: false, fetchedAt: 0, fetching: true };
      this.snapshots.set(hash, pending);
    }
    const snap = pending;
    snap.fetching = true;
    const before = new Map(snap.buckets);
    const shape = this.shape(series);
    const oldest = Math.floor(now / 1000 / shape.bucketSeconds) * shape.bucketSeconds - shape.bucketSeconds * shape.buckets;
    void this.link.attempt((c) => c.hgetall(hash)).then((r) => {
      snap.fetching = false;
      if (!r.ok) return;
      const fresh = new Map<number, number>();
      const expired: string[] = [];
      for (const [field, value] of Object.entries(r.value)) {
        const t = Number(field);
        if (t <= oldest) expired.push(field);
        else fresh.set(t, Number(value));
      }
      // Adds since the fetch was sent are not in its answer yet.
      for (const [t, c] of snap.buckets) {
        const since = c - (before.get(t) ?? 0);
        if (since > 0) fresh.set(t, (fresh.get(t) ?? 0) + since);
      }
      snap.buckets = fresh;
      snap.fetched = true;
      snap.fetchedAt = now;
      // Most recently fetched last: the first key is the one to drop when full.
      this.snapshots.delete(hash);
      this.snapshots.set(hash, snap);
      if (expired.length) void this.link.attempt((c) => c.hdel(hash, ...expired));
    });
  }

  private shape(series: string): Shape {
    return this.shapes.get(series) ?? this.defaults;
  }

  private hashKey(series: string, key: string): string {
    return this.link.key('counter', series, key);
  }
}
