/**
 * The verdict cache, two levels (docs/cbv.md):
 * - per address: positive TTL, shorter negative TTL;
 * - per domain: facts true for every address there (rejects our sender,
 *   accept-all, no usable MX, postmaster checked).
 *
 * Rules kept here, whatever the store:
 * - transient verdicts are never cached: the next check asks again (a
 *   greylisting server wants exactly that retry, docs/cbv.md);
 * - a negative result never overwrites a fresh positive one (one bad probe,
 *   say to a broken backup MX, must not flip a known-good sender);
 * - the sender is part of the key when it is not `<>` (a domain may treat
 *   `<>` and a real sender differently).
 *
 * The store is a small async interface so that a shared store (Redis, with
 * `SET key value PX ttl`) can replace the in-memory LRU.
 */
import { LruMap } from '../lru-map.js';
import type { CbvReason, CbvStage } from './types.js';

/** What a store holds: plain JSON, so that any store can serialise it. */
export interface CacheEntry {
  reason: CbvReason;
  stage: CbvStage;
  host?: string;
  ip?: string;
  reply?: string;
  message: string;
  acceptAll?: boolean;
  /** Epoch ms when it was stored. */
  storedAt: number;
  /** Epoch ms after which it is stale. */
  expiresAt: number;
}

export interface CbvStore {
  get(key: string): Promise<CacheEntry | undefined>;
  /**
   * What get answers, at once: only a store held in this process has it.
   * A cached verdict is every transaction's lot, and through the async
   * chain (engine, cache, stores) one cost six promises.
   */
  getNow?(key: string): CacheEntry | undefined;
  /** Stores `entry` until `entry.expiresAt`. */
  set(key: string, entry: CacheEntry): Promise<void>;
  delete(key: string): Promise<void>;
}

/** An in-memory LRU store, bounded in entries (src/lru-map.ts: a hot sender's hit moves nothing). */
export class MemoryStore implements CbvStore {
  private readonly map: LruMap<string, CacheEntry>;

  constructor(
    maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {
    this.map = new LruMap(maxEntries);
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    return this.getNow(key);
  }

  getNow(key: string): CacheEntry | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.expiresAt > this.now()) return e;
    this.map.delete(key);
    return undefined;
  }

  async set(key: string, entry: CacheEntry): Promise<void> {
    this.map.set(key, entry);
  }

  async delete(key: string): Promise<void> {
    this.map.delete(key);
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * Wraps a store so that its failures (a shared store that is down) count as
 * misses and lost writes: a cache outage slows checks down, never fails them.
 */
export class FailSafeStore implements CbvStore {
  readonly getNow?: (key: string) => CacheEntry | undefined;

  constructor(
    private readonly inner: CbvStore,
    private readonly onError: (op: string, err: unknown) => void,
  ) {
    const now = inner.getNow?.bind(inner);
    if (now) {
      this.getNow = (key) => {
        try {
          return now(key);
        } catch (e) {
          this.onError('get', e);
          return undefined;
        }
      };
    }
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    try {
      return await this.inner.get(key);
    } catch (e) {
      this.onError('get', e);
      return undefined;
    }
  }

  async set(key: string, entry: CacheEntry): Promise<void> {
    try {
      await this.inner.set(key, entry);
    } catch (e) {
      this.onError('set', e);
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.inner.delete(key);
    } catch (e) {
      this.onError('delete', e);
    }
  }
}

export interface CacheTtls {
  positiveMs: number;
  negativeMs: number;
  domainMs: number;
}

/** Domain facts: one key each, so a store needs no merging. */
export type DomainFact = 'verdict' | 'not-accept-all' | 'postmaster-ok';

/** Reasons that hold for every address of the domain, for this sender. */
const DOMAIN_REASONS: ReadonlySet<CbvReason> = new Set<CbvReason>([
  'nxdomain',
  'null-mx',
  'no-address',
  'no-allowed-target',
  'sender-rejected',
  'postmaster-rejected',
  'accept-all',
]);

export class VerdictCache {
  constructor(
    private readonly store: CbvStore,
    private readonly ttl: CacheTtls,
    private readonly now: () => number,
  ) {}

  static addressKey(address: string, sender: string): string {
    return sender ? `a:${address}|${sender.toLowerCase()}` : `a:${address}`;
  }

  static domainKey(fact: DomainFact, domain: string, sender: string): string {
    return sender ? `d:${fact}:${domain}|${sender.toLowerCase()}` : `d:${fact}:${domain}`;
  }

  /**
   * The cached verdict for an address: its own positive entry first (a fresh
   * positive outranks any later failure), then a domain-wide verdict, then its
   * own negative entry.
   */
  lookup(address: string, domain: string, sender: string): CacheEntry | undefined | Promise<CacheEntry | undefined> {
    const now = this.store.getNow;
    if (!now) return this.lookupAsync(address, domain, sender);
    // A store held here answers at once: no promise for the look-up every transaction makes.
    const own = now.call(this.store, VerdictCache.addressKey(address, sender));
    if (own?.reason === 'accepted') return own;
    return now.call(this.store, VerdictCache.domainKey('verdict', domain, sender)) ?? own;
  }

  private async lookupAsync(address: string, domain: string, sender: string): Promise<CacheEntry | undefined> {
    const own = await this.store.get(VerdictCache.addressKey(address, sender));
    if (own?.reason === 'accepted') return own;
    return (await this.store.get(VerdictCache.domainKey('verdict', domain, sender))) ?? own;
  }

  async hasFact(fact: Exclude<DomainFact, 'verdict'>, domain: string, sender: string): Promise<boolean> {
    return (await this.store.get(VerdictCache.domainKey(fact, domain, sender))) !== undefined;
  }

  async setFact(fact: Exclude<DomainFact, 'verdict'>, domain: string, sender: string): Promise<void> {
    const t = this.now();
    const entry: CacheEntry = { reason: 'accepted', stage: 'rcpt', message: fact, storedAt: t, expiresAt: t + this.ttl.domainMs };
    await this.store.set(VerdictCache.domainKey(fact, domain, sender), entry);
  }

  /** Stores a verdict by the rules above; returns where it went ('none' for transient). */
  async remember(
    address: string,
    domain: string,
    sender: string,
    v: Omit<CacheEntry, 'storedAt' | 'expiresAt'>,
    status: 'pass' | 'fail' | 'error' | 'transient',
  ): Promise<'none' | 'domain' | 'address' | 'kept-positive'> {
    if (status === 'transient') return 'none';
    const t = this.now();
    if (DOMAIN_REASONS.has(v.reason)) {
      await this.store.set(VerdictCache.domainKey('verdict', domain, sender), { ...v, storedAt: t, expiresAt: t + this.ttl.domainMs });
      return 'domain';
    }
    const key = VerdictCache.addressKey(address, sender);
    if (status !== 'pass') {
      const existing = await this.store.get(key);
      if (existing && existing.reason === 'accepted') return 'kept-positive';
    }
    const ttl = status === 'pass' ? this.ttl.positiveMs : this.ttl.negativeMs;
    await this.store.set(key, { ...v, storedAt: t, expiresAt: t + ttl });
    return 'address';
  }
}
