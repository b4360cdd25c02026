/**
 * The CBV verdict cache shared through Redis, with the process's own
 * in-memory store under it (docs/operations.md, "Redis").
 *
 * - While Redis is up, reads and writes go to Redis (`SET key json PX ttl`),
 *   so a verdict learnt by one process answers every other one.
 * - Every write also goes to the local store, and while Redis is down (or a
 *   command fails) reads come from there: an outage costs at most the
 *   verdicts other processes learnt meanwhile, never a failed check.
 * The cache's own rules (TTLs, no transient entries, positive first) stay
 * in src/cbv/cache.ts, whatever the store.
 */
import type { CacheEntry, CbvStore } from '../cbv/cache.js';
import { STATUS_OF } from '../cbv/types.js';
import type { RedisLink } from './redis-link.js';

export class SharedCbvStore implements CbvStore {
  constructor(
    private readonly link: RedisLink,
    private readonly local: CbvStore,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<CacheEntry | undefined> {
    const r = await this.link.attempt((c) => c.get(this.link.key('cache', key)));
    if (!r.ok) return this.local.get(key);
    if (r.value === null) return undefined;
    const entry = parseEntry(r.value);
    return entry && entry.expiresAt > this.now() ? entry : undefined;
  }

  async set(key: string, entry: CacheEntry): Promise<void> {
    await this.local.set(key, entry);
    const ttl = Math.ceil(entry.expiresAt - this.now());
    if (ttl <= 0) return;
    await this.link.attempt((c) => c.set(this.link.key('cache', key), JSON.stringify(entry), 'PX', ttl));
  }

  async delete(key: string): Promise<void> {
    await this.local.delete(key);
    await this.link.attempt((c) => c.del(this.link.key('cache', key)));
  }
}

/** An entry as stored (exported for its property test); anything else (another program's key, a truncated value) is a miss. */
export function parseEntry(text: string): CacheEntry | undefined {
  try {
    const v = JSON.parse(text) as CacheEntry;
    return v && typeof v === 'object' && typeof v.reason === 'string' && Object.hasOwn(STATUS_OF, v.reason) && typeof v.expiresAt === 'number' ? v : undefined;
  } catch {
    return undefined;
  }
}
