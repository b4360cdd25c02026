/**
 * Named CIDR tables for Momentum's cidrdb functions (sieve-ref-cidrdb.md):
 * each maps CIDR blocks to a value (type "value") or only says whether an
 * address is inside one (type "boolean"). Tables come from the
 * configuration (`cidr_list "name" { ... }`, docs/momentum-compatibility.md)
 * or from define_cidr at run time, and live as long as the host: a
 * reload keeps what scripts defined. A look-up searches the table's index
 * (cidr-index.ts), built once per table, in O(log n).
 */
import type Ipaddr from 'ipaddr.js';
import { buildCidrIndexNow, type CidrIndex, findInIndex } from './cidr-index.js';
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

/**
 * The most specific entry holding `addr` by a scan of every entry: the
 * reference the index (cidr-index.ts) answers as; the longest prefix wins,
 * the first in the table of those with the same.
 */
export function scanTable(entries: readonly CidrEntry[], addr: Ipaddr.IPv4 | Ipaddr.IPv6): CidrEntry | null {
  let best: CidrEntry | null = null;
  for (const e of entries) {
    if (e.block[0].kind() !== addr.kind() || !addr.match(e.block)) continue;
    if (!best || e.block[1] > best.block[1]) best = e;
  }
  return best;
}

export class CidrTables {
  /** The tables, each with its index once built: a table is never changed, a new version is a new table. */
  private readonly tables = new Map<string, { table: CidrTable; index?: CidrIndex }>();

  /** `index`: the table's, built beforehand in slices (define_cidr); without it, built at the first look-up. */
  define(name: string, table: CidrTable, index?: CidrIndex): void {
    this.tables.set(name, index ? { table, index } : { table });
  }

  get(name: string): CidrTable | undefined {
    return this.tables.get(name)?.table;
  }

  has(name: string): boolean {
    return this.tables.has(name);
  }

  /** The most specific block holding `ip` in the named table; null when none, undefined when there is no such table. */
  lookup(name: string, ip: string): { table: CidrTable; entry: CidrEntry | null } | undefined {
    const known = this.tables.get(name);
    if (!known) return undefined;
    const { table } = known;
    if (!ipaddr().isValid(ip)) return { table, entry: null };
    // A table from the configuration is small: its index is made in one go, once.
    const found = findInIndex((known.index ??= buildCidrIndexNow(table.entries)), ipaddr().process(ip));
    return { table, entry: found < 0 ? null : table.entries[found]! };
  }
}
