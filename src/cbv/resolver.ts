/**
 * Next hops for a probe domain (RFC 5321 5.1): the MX records by preference,
 * equal preferences shuffled so that load spreads as the domain intended;
 * the domain's own A/AAAA only when it has no MX record at all (NODATA, the
 * "implicit MX"). Each host name is resolved here, once; the engine connects
 * to these addresses and never resolves the name again.
 */
import { Resolver } from 'node:dns/promises';
import { isAddressLiteralName } from './guard.js';

export interface Hop {
  /** MX host name (or the domain itself for an implicit MX). */
  name: string;
  preference: number;
  /** IPv4 first, then IPv6: v4 reaches more mail hosts reliably. */
  addresses: string[];
  /** Why this host has no usable address, when it has none. */
  problem?: 'address-literal' | 'no-address' | DnsFailure;
}

export type DnsFailure = 'dns-servfail' | 'dns-timeout' | 'dns-error';

export type HopsResult =
  | { ok: true; hops: Hop[]; implicit: boolean }
  | { ok: false; reason: 'nxdomain' | 'null-mx' | 'no-address' | DnsFailure; detail: string };

export interface ResolverOptions {
  servers?: string[];
  timeoutMs: number;
  tries: number;
  random: () => number;
}

type Kind = 'nxdomain' | 'nodata' | DnsFailure;

/**
 * c-ares error codes -> what they mean for a probe. NXDOMAIN arrives as
 * ENOTFOUND; a name that cannot be asked for (EBADNAME, e.g. an MX target
 * with an empty label) cannot exist either.
 */
function kindOf(err: unknown): Kind {
  const code = (err as { code?: string }).code;
  if (code === 'ENOTFOUND' || code === 'EBADNAME') return 'nxdomain';
  if (code === 'ENODATA') return 'nodata';
  if (code === 'ESERVFAIL') return 'dns-servfail';
  if (code === 'ETIMEOUT') return 'dns-timeout';
  return 'dns-error';
}

export class NextHopResolver {
  private readonly resolver: Resolver;
  private readonly random: () => number;
  /** Per top-level domain: does the resolver admit it exists (see confirmNxdomain)? */
  private readonly tlds = new Map<string, { kind: 'nxdomain' | DnsFailure; until: number }>();

  constructor(o: ResolverOptions) {
    this.resolver = new Resolver({ timeout: o.timeoutMs, tries: o.tries });
    if (o.servers?.length) this.resolver.setServers(o.servers);
    this.random = o.random;
  }

  async nextHops(domain: string): Promise<HopsResult> {
    let mx: Array<{ exchange: string; priority: number }>;
    try {
      mx = await this.resolver.resolveMx(domain);
    } catch (err) {
      const kind = kindOf(err);
      if (kind === 'nodata') return this.implicitMx(domain);
      if (kind === 'nxdomain') {
        const trusted = await this.confirmNxdomain(domain);
        if (trusted !== 'nxdomain') {
          return { ok: false, reason: trusted, detail: `MX ${domain}: NXDOMAIN, but the resolver denies the top-level domain too: DNS is not usable from here` };
        }
      }
      return { ok: false, reason: kind, detail: `MX ${domain}: ${(err as Error).message}` };
    }
    // RFC 7505 3: a null MX is a single `0 .` record; a domain that has one
    // accepts no mail, so nothing is contacted. c-ares returns '.' as ''.
    if (mx.some((r) => r.exchange === '' || r.exchange === '.')) {
      return { ok: false, reason: 'null-mx', detail: `${domain} has a null MX (RFC 7505)` };
    }
    if (mx.length === 0) return this.implicitMx(domain);
    const ordered = this.order(mx);
    const hops = await Promise.all(ordered.map((r) => this.hop(r.exchange, r.priority)));
    return { ok: true, hops, implicit: false };
  }

  /**
   * NXDOMAIN is permanent only when DNS works. A resolver cut off from the
   * internet (a sandbox, a broken forwarder) may answer NXDOMAIN for every
   * name; a mail server must not turn that into 550s. So the top-level
   * domain is asked for too (cached for a few minutes): if it "does not
   * exist" either, the answer is a DNS failure (transient), not a verdict.
   */
  private async confirmNxdomain(domain: string): Promise<'nxdomain' | DnsFailure> {
    const tld = domain.slice(domain.lastIndexOf('.') + 1);
    if (!tld || tld === domain) return 'nxdomain';
    const cached = this.tlds.get(tld);
    if (cached && cached.until > Date.now()) return cached.kind;
    let kind: 'nxdomain' | DnsFailure;
    try {
      await this.resolver.resolveNs(tld);
      kind = 'nxdomain';
    } catch (err) {
      const k = kindOf(err);
      kind = k === 'nodata' ? 'nxdomain' : k === 'nxdomain' ? 'dns-error' : k;
    }
    // Only a clear answer is remembered; a timeout is asked again next time.
    if (kind === 'nxdomain' || kind === 'dns-error') this.tlds.set(tld, { kind, until: Date.now() + 300_000 });
    return kind;
  }

  /** RFC 5321 5.1: no MX records -> the domain itself is the only host, preference 0. */
  private async implicitMx(domain: string): Promise<HopsResult> {
    const hop = await this.hop(domain, 0);
    if (hop.addresses.length > 0) return { ok: true, hops: [hop], implicit: true };
    if (hop.problem === 'no-address') {
      return { ok: false, reason: 'no-address', detail: `${domain} has no MX and no A/AAAA` };
    }
    return { ok: false, reason: hop.problem as DnsFailure, detail: `A/AAAA ${domain}: ${hop.problem}` };
  }

  private async hop(name: string, preference: number): Promise<Hop> {
    const clean = name.replace(/\.$/, '').toLowerCase();
    if (isAddressLiteralName(clean)) return { name: clean, preference, addresses: [], problem: 'address-literal' };
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(clean), this.resolver.resolve6(clean)]);
    const addresses = [
      ...(v4.status === 'fulfilled' ? v4.value : []),
      ...(v6.status === 'fulfilled' ? v6.value : []),
    ];
    if (addresses.length > 0) return { name: clean, preference, addresses };
    // No address at all: a transient failure of either lookup makes the host
    // transient (it may have an address we could not see), else it has none.
    const failures = [v4, v6]
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) => kindOf(r.reason))
      .filter((k): k is DnsFailure => k !== 'nxdomain' && k !== 'nodata');
    return { name: clean, preference, addresses: [], problem: failures[0] ?? 'no-address' };
  }

  /** Sort by preference; shuffle within one preference (RFC 5321 5.1, "randomize"). */
  private order<T extends { priority: number }>(records: T[]): T[] {
    const shuffled = [...records];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(this.random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j] as T, shuffled[i] as T];
    }
    // Array#sort is stable, so the shuffle survives inside each preference.
    return shuffled.sort((a, b) => a.priority - b.priority);
  }
}
