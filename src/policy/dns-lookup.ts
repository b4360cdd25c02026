/**
 * SieveHost.dnsLookup for ec_dns_lookup, over node's resolver. Answers are
 * text: addresses for A/AAAA, "preference exchange" for MX, the joined
 * strings of each TXT record, names for PTR/NS/CNAME. NXDOMAIN and NODATA
 * are an empty list (no record); anything else rejects (a failed lookup),
 * which the function turns into a runtime error.
 */
import { Resolver } from 'node:dns/promises';

export interface DnsLookupOptions {
  /** Servers as "ip" or "ip:port" (tests use the DNS server on 127.0.0.1). Default: the system's. */
  servers?: string[];
  timeoutMs?: number;
  tries?: number;
}

const EMPTY = new Set(['ENOTFOUND', 'ENODATA']);

export function createDnsLookup(opts: DnsLookupOptions = {}): (name: string, type: string) => Promise<string[]> {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 2000, tries: opts.tries ?? 2 });
  if (opts.servers?.length) resolver.setServers(opts.servers);
  return async (name, type) => {
    try {
      switch (type.toUpperCase()) {
        case 'A':
          return await resolver.resolve4(name);
        case 'AAAA':
          return await resolver.resolve6(name);
        case 'MX':
          return (await resolver.resolveMx(name)).sort((a, b) => a.priority - b.priority).map((m) => `${m.priority} ${m.exchange}`);
        case 'TXT':
          return (await resolver.resolveTxt(name)).map((parts) => parts.join(''));
        case 'PTR':
          return await resolver.resolvePtr(name);
        case 'NS':
          return await resolver.resolveNs(name);
        case 'CNAME':
          return await resolver.resolveCname(name);
        default:
          throw new Error(`unsupported record type ${type}`);
      }
    } catch (e) {
      if (EMPTY.has((e as NodeJS.ErrnoException).code ?? '')) return [];
      throw e;
    }
  };
}
