/**
 * One cache store, one set of flights and one set of shared limits can
 * serve two engines (the sender CBV and the recipient call-ahead of
 * docs/recipient-verification.md) when each engine's keys carry its own
 * prefix: a recipient verdict for an address must never answer a sender
 * check of the same address, nor count against the same domain's probe
 * rate. This wraps the shared pieces so the engine itself needs no notion
 * of a namespace.
 */
import type { CacheEntry, CbvStore } from './cache.js';
import type { DomainLimits, ProbeFlights, SharedLimits } from './shared.js';

export class PrefixedStore implements CbvStore {
  readonly getNow?: (key: string) => CacheEntry | undefined;

  constructor(
    private readonly prefix: string,
    private readonly inner: CbvStore,
  ) {
    const now = inner.getNow?.bind(inner);
    if (now) this.getNow = (key) => now(prefix + key);
  }

  get(key: string): Promise<CacheEntry | undefined> {
    return this.inner.get(this.prefix + key);
  }

  set(key: string, entry: CacheEntry): Promise<void> {
    return this.inner.set(this.prefix + key, entry);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(this.prefix + key);
  }
}

export function prefixedFlights(prefix: string, inner: ProbeFlights): ProbeFlights {
  return { join: (key, opts) => inner.join(prefix + key, opts) };
}

export function prefixedLimits(prefix: string, inner: SharedLimits): SharedLimits {
  return { tryAcquire: (domain: string, limits: DomainLimits) => inner.tryAcquire(prefix + domain, limits) };
}
