/**
 * Named CIDR tables for Momentum's cidrdb functions (sieve-ref-cidrdb.md):
 * each maps CIDR blocks to a value (type "value") or only says whether an
 * address is inside one (type "boolean"). Tables come from the
 * configuration (`cidr_list "name" { ... }`, docs/momentum-compatibility.md)
 * or from define_cidr at run time, and live as long as the host: a
 * reload keeps what scripts defined.
 */
import type Ipaddr from 'ipaddr.js';
import { ipaddr } from './ipaddr.js';

export interface CidrEntry {
  block: [Ipaddr.IPv4 | Ipaddr.IPv6, number];
  value: string;
}

export interface CidrTable {
  type: 'boolean' | 'value';
  entries: CidrEntry[];
  /** Returned by a "value" table when no block matches. */
  defaultValue: string;
  /** Replace `$` in the value with the address (define_cidr's interpolate). */
  interpolate: boolean;
}

/** `10.0.0.0/8`, `192.0.2.1` (a /32), `2001:db8::/32`; undefined when it does not parse. */
export function parseBlock(text: string): [Ipaddr.IPv4 | Ipaddr.IPv6, number] | undefined {
  const t = text.trim();
  try {
    if (t.includes('/')) {
      const [addr, bits] = ipaddr().parseCIDR(t);
      return [addr.kind() === 'ipv6' && (addr as Ipaddr.IPv6).isIPv4MappedAddress() ? (addr as Ipaddr.IPv6).toIPv4Address() : addr, bits];
    }
    const a = ipaddr().process(t);
    return [a, a.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return undefined;
  }
}

export class CidrTables {
  private readonly tables = new Map<string, CidrTable>();

  define(name: string, table: CidrTable): void {
    this.tables.set(name, table);
  }

  has(name: string): boolean {
    return this.tables.has(name);
  }

  /** The most specific block holding `ip` in the named table; null when none, undefined when there is no such table. */
  lookup(name: string, ip: string): { table: CidrTable; entry: CidrEntry | null } | undefined {
    const table = this.tables.get(name);
    if (!table) return undefined;
    if (!ipaddr().isValid(ip)) return { table, entry: null };
    const addr = ipaddr().process(ip);
    let best: CidrEntry | null = null;
    for (const e of table.entries) {
      if (e.block[0].kind() !== addr.kind() || !addr.match(e.block)) continue;
      if (!best || e.block[1] > best.block[1]) best = e;
    }
    return { table, entry: best };
  }
}
