/**
 * Per-IP and named counters behind Momentum's ec_ip_connections,
 * ec_ip_receptions, ec_ip_rejections and audit_series (sieve-ref-audit-series.md):
 * an interface, so that the cluster-wide store (Redis) can implement it
 * as the in-process one below does.
 *
 * A series counts events in `windows` buckets of `seconds` each (Momentum's
 * audit_series: "N windows of M seconds"); a read sums the buckets that
 * cover the last `span` seconds.
 */
export interface CounterStore {
  /** Counts `by` events for `key` in the named series now. */
  add(series: string, key: string, by: number, now: number): void;
  /** The events counted for `key` in the last `seconds` (the whole retention when absent). */
  read(series: string, key: string, now: number, seconds?: number): number;
}

/** The built-in series ec_ip_* read: Momentum keeps them per listener IP in 60-second windows. */
export const IP_SERIES = { connections: 'ip_connections', receptions: 'ip_receptions', rejections: 'ip_rejections' } as const;

interface Series {
  bucketSeconds: number;
  buckets: number;
  /** key -> bucket start (seconds) -> count */
  counts: Map<string, Map<number, number>>;
}

/** Counters in this process's memory: exact, bounded by the keys seen in the retention window. */
export class MemoryCounterStore implements CounterStore {
  private readonly series = new Map<string, Series>();

  constructor(private readonly defaults: { bucketSeconds: number; buckets: number } = { bucketSeconds: 60, buckets: 60 }) {}

  /** Declares a series' windows (audit_series "5 windows of 60 seconds"); an undeclared one uses the defaults. */
  define(name: string, bucketSeconds: number, buckets: number): void {
    this.series.set(name, { bucketSeconds, buckets, counts: new Map() });
  }

  private get(name: string): Series {
    let s = this.series.get(name);
    if (!s) this.series.set(name, (s = { ...this.defaults, counts: new Map() }));
    return s;
  }

  add(series: string, key: string, by: number, now: number): void {
    const s = this.get(series);
    const start = Math.floor(now / 1000 / s.bucketSeconds) * s.bucketSeconds;
    let k = s.counts.get(key);
    if (!k) s.counts.set(key, (k = new Map()));
    k.set(start, (k.get(start) ?? 0) + by);
    // Buckets older than the retention are dropped as new ones come.
    for (const t of k.keys()) if (t <= start - s.bucketSeconds * s.buckets) k.delete(t);
  }

  read(series: string, key: string, now: number, seconds?: number): number {
    const s = this.get(series);
    const k = s.counts.get(key);
    if (!k) return 0;
    const span = Math.min(seconds ?? s.bucketSeconds * s.buckets, s.bucketSeconds * s.buckets);
    const nowS = now / 1000;
    let n = 0;
    for (const [t, c] of k) if (t + s.bucketSeconds > nowS - span) n += c;
    return n;
  }
}
