/**
 * The CBV verdict cache and the per-domain probe limits across the workers
 * of one server when no Redis is configured (docs/operations.md,
 * "Workers"), kept in the primary and reached over primary-channel.ts:
 *
 * - the cache: a worker asks the primary first and keeps every verdict in
 *   its own store too, so a verdict learnt by one worker answers the others;
 * - the limits: `domain_rate_limit` (a sliding log of probe starts) and
 *   `max_concurrency_per_domain` (leases) counted for the server, as the
 *   Redis versions count them (redis-limits.ts). A lease lapses after its
 *   time to live, and goes at once when its worker dies.
 *
 * When the primary does not answer in time, the cache answers from the
 * worker's own store and the limits from the worker's own limiter (the
 * engine's fallback for shared limits that cannot be reached).
 *
 * The primary's half is CbvTally.
 */
import type { CacheEntry, CbvStore } from '../cbv/cache.js';
import { MemoryStore } from '../cbv/cache.js';
import { type Acquired, acquiredOnce } from '../cbv/limiter.js';
import type { DomainLimits, SharedLimits } from '../cbv/shared.js';
import { answer, type PrimaryChannel, primaryChannel } from './primary-channel.js';

const CBV = 'smtp-cbv:cbv';

type CbvMessage =
  | { type: typeof CBV; op: 'get'; key: string; seq?: number }
  | { type: typeof CBV; op: 'set'; key: string; entry: CacheEntry }
  | { type: typeof CBV; op: 'delete'; key: string }
  | { type: typeof CBV; op: 'acquire'; domain: string; limits: DomainLimits; seq?: number }
  | { type: typeof CBV; op: 'release'; domain: string; lease: number };

type AcquireAnswer = { ok: true; lease: number } | { ok: false; why: 'domain-concurrency' | 'domain-rate' };

/** A worker's verdict cache: the primary's, with this worker's own store under it. */
export class ClusterCbvStore implements CbvStore {
  constructor(
    private readonly local: CbvStore,
    private readonly primary: PrimaryChannel = primaryChannel(),
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    const own = await this.local.get(key);
    if (own) return own;
    const entry = await this.primary.ask<CacheEntry | null | undefined, CbvMessage>({ type: CBV, op: 'get', key }, () => undefined);
    if (!entry || entry.expiresAt <= this.now()) return undefined;
    await this.local.set(key, entry);
    return entry;
  }

  async set(key: string, entry: CacheEntry): Promise<void> {
    await this.local.set(key, entry);
    this.primary.tell<CbvMessage>({ type: CBV, op: 'set', key, entry });
  }

  async delete(key: string): Promise<void> {
    await this.local.delete(key);
    this.primary.tell<CbvMessage>({ type: CBV, op: 'delete', key });
  }
}

/** A worker's per-domain limits, counted in the primary; undefined (count here) when it does not answer. */
export class ClusterLimits implements SharedLimits {
  constructor(private readonly primary: PrimaryChannel = primaryChannel()) {}

  async tryAcquire(domain: string, limits: DomainLimits): Promise<Acquired | undefined> {
    const r = await this.primary.ask<AcquireAnswer | undefined, CbvMessage>({ type: CBV, op: 'acquire', domain, limits }, () => undefined);
    if (!r) return undefined;
    if (!r.ok) return { ok: false, why: r.why };
    return acquiredOnce(() => this.primary.tell<CbvMessage>({ type: CBV, op: 'release', domain, lease: r.lease }));
  }
}

interface DomainState {
  /** Probe starts within the window, oldest first. */
  starts: number[];
  /** Lease id -> expiry. */
  leases: Map<number, number>;
  /** The rate window it was last asked with. */
  windowMs: number;
}

/** Domains are swept of what has lapsed after this many acquisitions, so a flood of one-off domains leaves nothing behind. */
const SWEEP_EVERY = 1000;

/** The primary's side: the cache every worker shares and the per-domain counts. */
export class CbvTally {
  private readonly cache: MemoryStore;
  private readonly domains = new Map<string, DomainState>();
  /** Each worker's leases, so that a worker's death gives them back at once. */
  private readonly leasesOf = new Map<number, Map<number, string>>();
  private nextLease = 0;
  private acquisitions = 0;

  constructor(
    cacheEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    this.cache = new MemoryStore(cacheEntries, now);
  }

  /** Handles a worker's message if it is about CBV state; returns whether it was. */
  handle(worker: { id: number; send(message: unknown): unknown }, message: unknown): boolean {
    const m = message as CbvMessage | null;
    if (m?.type !== CBV) return false;
    switch (m.op) {
      case 'get':
        void this.cache.get(m.key).then((e) => answer(worker, m, e ?? null));
        break;
      case 'set':
        void this.cache.set(m.key, m.entry);
        break;
      case 'delete':
        void this.cache.delete(m.key);
        break;
      case 'acquire':
        answer(worker, m, this.acquire(worker.id, m.domain, m.limits));
        break;
      case 'release':
        this.release(worker.id, m.domain, m.lease);
        break;
    }
    return true;
  }

  /** A worker is gone: its leases with it. */
  forget(workerId: number): void {
    for (const [lease, domain] of this.leasesOf.get(workerId) ?? []) this.domains.get(domain)?.leases.delete(lease);
    this.leasesOf.delete(workerId);
  }

  private acquire(workerId: number, domain: string, l: DomainLimits): AcquireAnswer {
    if (++this.acquisitions % SWEEP_EVERY === 0) this.sweep();
    const now = this.now();
    const d = this.domains.get(domain) ?? { starts: [], leases: new Map<number, number>(), windowMs: l.rateWindowMs };
    d.windowMs = l.rateWindowMs;
    this.domains.set(domain, d);
    for (const [id, expiry] of d.leases) if (expiry <= now) d.leases.delete(id);
    if (d.leases.size >= l.maxConcurrentPerDomain) return { ok: false, why: 'domain-concurrency' };
    while (d.starts.length && d.starts[0]! <= now - l.rateWindowMs) d.starts.shift();
    if (d.starts.length >= l.ratePerDomain) return { ok: false, why: 'domain-rate' };
    d.starts.push(now);
    const lease = ++this.nextLease;
    d.leases.set(lease, now + l.leaseTtlMs);
    const own = this.leasesOf.get(workerId) ?? new Map<number, string>();
    own.set(lease, domain);
    this.leasesOf.set(workerId, own);
    return { ok: true, lease };
  }

  private release(workerId: number, domain: string, lease: number): void {
    this.domains.get(domain)?.leases.delete(lease);
    this.leasesOf.get(workerId)?.delete(lease);
  }

  /** Drops the domains with no lease and no start left in the window. */
  private sweep(): void {
    const now = this.now();
    for (const [domain, d] of this.domains) {
      for (const [id, expiry] of d.leases) if (expiry <= now) d.leases.delete(id);
      if (d.leases.size === 0 && (d.starts.length === 0 || d.starts[d.starts.length - 1]! <= now - d.windowMs)) this.domains.delete(domain);
    }
  }

  /** Domains with state kept (for tests). */
  get domainCount(): number {
    return this.domains.size;
  }
}
