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
  /** An rbldnsd exception (`!1.2.3.4`): an address whose most specific block this is is not listed. */
  excluded?: true;
}

export interface CidrTable {
  type: 'boolean' | 'value';
  entries: CidrEntry[];
  /** Returned by a "value" table when no block matches. */
  defaultValue: string;
  /** Replace `$` in the value with the address (define_cidr's interpolate). */
  interpolate: boolean;
}

/** An octet in dotted decimal without a leading zero (ipaddr.js reads `010` as octal, so those go to it). */
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
/** Dotted-decimal IPv4 with an optional prefix length of 0-32 written without a leading zero. */
const PLAIN_V4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}(?:/(3[0-2]|[12]?[0-9]))?$`);

type Block = [Ipaddr.IPv4 | Ipaddr.IPv6, number];

/** `10.0.0.0/8`, `192.0.2.1` (a /32), `2001:db8::/32`; undefined when it does not parse. */
export function parseBlock(text: string): Block | undefined {
  const t = text.trim();
  // The common case read directly: ipaddr.js's parseCIDR tries IPv6 first and throws, some 8 us a
  // block, 2.9 s of define_cidr's time for a table of 438,000 blocks. The same block as ipaddr.js makes.
  const m = PLAIN_V4.exec(t);
  if (m) return [new (ipaddr().IPv4)([+m[1]!, +m[2]!, +m[3]!, +m[4]!]), m[5] === undefined ? 32 : +m[5]];
  return parseBlockByIpaddr(t);
}

/** A block of any form ipaddr.js reads (IPv6, IPv4-mapped, octal or hex IPv4 parts); the reference of parseBlock's direct reading. */
export function parseBlockByIpaddr(text: string): Block | undefined {
  const t = text.trim();
  try {
    if (t.includes('/')) {
      const [addr, bits] = ipaddr().parseCIDR(t);
      // An IPv4-mapped block (RFC 4291 2.5.5.2) is the IPv4 block under its last 32 bits, as an address
      // looked up is made IPv4 (process()); one wider than the mapped range stays IPv6.
      const mapped = addr.kind() === 'ipv6' && bits >= 96 && (addr as Ipaddr.IPv6).isIPv4MappedAddress();
      return mapped ? [(addr as Ipaddr.IPv6).toIPv4Address(), bits - 96] : [addr, bits];
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

  /** The most specific block holding `ip` in the named table; null when none (or it is an exception), undefined when there is no such table. */
  lookup(name: string, ip: string): { table: CidrTable; entry: CidrEntry | null } | undefined {
    const known = this.tables.get(name);
    if (!known) return undefined;
    const { table } = known;
    if (!ipaddr().isValid(ip)) return { table, entry: null };
    // A table from the configuration is small: its index is made in one go, once.
    const found = findInIndex((known.index ??= buildCidrIndexNow(table.entries)), ipaddr().process(ip));
    const entry = found < 0 ? null : table.entries[found]!;
    return { table, entry: entry?.excluded ? null : entry };
  }
}
