/**
 * The DNS answer cache in front of the authentication checks
 * (docs/authentication.md, "DNS answers are cached"). Each message costs
 * several look-ups (SPF of MAIL FROM and HELO and what their records name,
 * the DKIM key, the DMARC policy), and mail from one domain comes in runs,
 * so the answers are kept as long as their TTL says (RFC 1035 3.2.1),
 * capped so a mistaken week-long TTL does not pin a revoked key.
 *
 * - Negative answers (NXDOMAIN, NODATA) are kept for the SOA's negative TTL
 *   (RFC 2308 5), capped lower still: "no SPF record" may change soon.
 * - Failures (SERVFAIL, timeouts, refusals) are never kept: the next
 *   message asks again, so a temperror (RFC 7208 2.6.6) says what the DNS
 *   says now, not what it said a minute ago.
 * - Identical questions in flight share one look-up (single-flight): the
 *   20 clients of a burst from one domain cost one query.
 * - At most `maxEntries` answers; the least recently used goes first.
 *
 * Each hit hands out a copy: mailauth may change the arrays it is given.
 */
import { LruMap } from '../lru-map.js';
import { DnsQueryError, type ResolveAnswer, type TtlAnswer } from './dns-query.js';

export interface DnsCacheOptions {
  maxEntries: number;
  /** Seconds: the longest an answer is kept, whatever its TTL. */
  maxTtl: number;
  /** Seconds: the longest a negative answer is kept (RFC 2308 5 suggests 1 to 3 hours at most; we keep far less). */
  maxNegativeTtl: number;
  /** Seconds a negative answer is kept when the server sent no SOA to say (RFC 2308 5 asks for none then; a brief one spares the repeat within one message). */
  defaultNegativeTtl: number;
  /** ms clock; tests may set it. */
  now?: () => number;
}

export const DNS_CACHE_DEFAULTS: DnsCacheOptions = { maxEntries: 10_000, maxTtl: 3600, maxNegativeTtl: 300, defaultNegativeTtl: 30 };

type Entry = { expires: number; value: ResolveAnswer } | { expires: number; error: DnsQueryError };

export interface DnsCacheStats {
  hits: number;
  misses: number;
  /** Look-ups that joined one already in flight. */
  shared: number;
}

export class DnsCache {
  /** At most maxEntries, the least recently used dropped first (src/lru-map.ts: a domain in every message moves nothing). */
  private readonly entries: LruMap<string, Entry>;
  private readonly inFlight = new Map<string, Promise<ResolveAnswer>>();
  private readonly now: () => number;
  readonly stats: DnsCacheStats = { hits: 0, misses: 0, shared: 0 };

  constructor(
    private readonly lookup: (name: string, type: string) => Promise<TtlAnswer>,
    private readonly options: DnsCacheOptions = DNS_CACHE_DEFAULTS,
  ) {
    this.now = options.now ?? Date.now;
    this.entries = new LruMap(options.maxEntries);
  }

  /** mailauth's resolver contract (src/auth/dns.ts). */
  readonly resolve = async (name: string, type: string): Promise<ResolveAnswer> => {
    // Names are case-insensitive (RFC 4343); a trailing dot names the same node.
    const key = `${type.toUpperCase()} ${name.toLowerCase().replace(/\.$/, '')}`;
    const entry = this.entries.get(key);
    if (entry && entry.expires > this.now()) {
      this.stats.hits++;
      if ('error' in entry) throw new DnsQueryError(entry.error.message, entry.error.code);
      return structuredClone(entry.value);
    }
    if (entry) this.entries.delete(key);
    const pending = this.inFlight.get(key);
    if (pending) {
      this.stats.shared++;
      return structuredClone(await pending);
    }
    this.stats.misses++;
    const p = this.fetch(key, name, type).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return structuredClone(await p);
  };

  private async fetch(key: string, name: string, type: string): Promise<ResolveAnswer> {
    const o = this.options;
    try {
      const a = await this.lookup(name, type);
      this.keep(key, Math.min(a.ttl, o.maxTtl), { value: a.value });
      return a.value;
    } catch (e) {
      if (e instanceof DnsQueryError && (e.code === 'ENOTFOUND' || e.code === 'ENODATA')) {
        this.keep(key, Math.min(e.negativeTtl ?? o.defaultNegativeTtl, o.maxNegativeTtl), { error: e });
      }
      throw e;
    }
  }

  private keep(key: string, ttlSeconds: number, what: { value: ResolveAnswer } | { error: DnsQueryError }): void {
    // TTL 0: use once, never cache (RFC 1035 3.2.1).
    if (!(ttlSeconds > 0)) return;
    this.entries.set(key, { expires: this.now() + ttlSeconds * 1000, ...what } as Entry);
  }

  get size(): number {
    return this.entries.size;
  }
}
