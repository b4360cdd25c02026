/**
 * The resolve function mailauth's checks take (its `resolver` option):
 * questions to the configured servers (tests: a server on loopback) through
 * dns-query.ts, their answers kept for their TTL by dns-cache.ts.
 *
 * mailauth expects `dns.promises.resolve`'s contract: TXT answers as arrays
 * of character-strings, and errors carrying node's codes. It tells "no
 * record" (ENOTFOUND, ENODATA: RFC 7208 4.4 "none", RFC 6376 6.1.2 no key)
 * from a failed look-up (SERVFAIL, timeout: RFC 7208 2.6.6 temperror) by
 * those codes, so they pass through untouched.
 */
import { DNS_CACHE_DEFAULTS, DnsCache, type DnsCacheOptions } from './dns-cache.js';
import { queryDns } from './dns-query.js';

/** mailauth's declared type; MX answers are `{exchange, priority}` objects at run time, as from node. */
export type AuthResolve = ((name: string, type: string) => Promise<string[][] | string[]>) & {
  /** The answer cache behind it; absent when caching is off. */
  cache?: DnsCache;
};

export interface AuthDnsOptions {
  /** "ip" or "ip:port"; empty: the system's resolvers. */
  servers?: readonly string[];
  timeoutMs?: number;
  tries?: number;
  /** The answer cache (default: DNS_CACHE_DEFAULTS); false asks the servers every time. */
  cache?: false | Partial<DnsCacheOptions>;
}

export function createAuthResolve(opts: AuthDnsOptions = {}): AuthResolve {
  const query = { servers: opts.servers ?? [], timeoutMs: opts.timeoutMs ?? 2000, tries: opts.tries ?? 2 };
  const lookup = (name: string, type: string) => queryDns(name, type, query);
  if (opts.cache === false) return async (name, type) => (await lookup(name, type)).value as string[];
  const cache = new DnsCache(lookup, { ...DNS_CACHE_DEFAULTS, ...opts.cache });
  return Object.assign((name: string, type: string) => cache.resolve(name, type) as Promise<string[]>, { cache });
}
