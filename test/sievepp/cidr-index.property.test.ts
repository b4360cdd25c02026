/**
 * The CIDR table's index (src/sievepp/cidr-index.ts) gives the linear
 * scan's answer (cidr.ts, scanTable) for any table and address: IPv4 and
 * IPv6 blocks that overlap, nest and repeat, IPv4-mapped blocks and
 * addresses, and the build stopped at every step as define_cidr runs it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildCidrIndex, buildCidrIndexNow, findInIndex } from '../../src/sievepp/cidr-index.js';
import { type CidrEntry, CidrTables, parseBlock, scanTable } from '../../src/sievepp/cidr.js';
import { ipaddr } from '../../src/sievepp/ipaddr.js';

// Few distinct values per octet or group, so that random blocks overlap, nest and repeat, and random addresses fall inside them.
const octet = fc.constantFrom(0, 1, 10, 127, 128, 192, 255);
const group = fc.constantFrom(0, 1, 0xdb8, 0x2001, 0x8000, 0xffff);
const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const v6 = fc.tuple(group, group, group, group, group, group, group, group).map((g) => g.map((x) => x.toString(16)).join(':'));
/** An address as query_cidr gets it: IPv4, IPv6, or IPv4 in IPv6 (the mapped form). */
const address = fc.oneof(v4, v6, v4.map((a) => `::ffff:${a}`));
/** A block as a table holds it: an address alone, or with a prefix length (not necessarily the network's first address). */
const block = fc.oneof(
  v4,
  v6,
  fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, n]) => `${a}/${n}`),
  fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([a, n]) => `${a}/${n}`),
  // IPv4-mapped: the IPv4 block under the last 32 bits (parseBlock).
  fc.tuple(v4, fc.integer({ min: 96, max: 128 })).map(([a, n]) => `::ffff:${a}/${n}`),
);
const table = fc.array(block, { maxLength: 40 }).map((blocks) =>
  blocks.flatMap((b, i): CidrEntry[] => {
    const parsed = parseBlock(b);
    return parsed ? [{ block: parsed, value: `${i}` }] : [];
  }),
);

/** The build stopped at every step and resumed, as define_cidr runs it between time slices. */
function builtStepwise(entries: readonly CidrEntry[]) {
  const build = buildCidrIndex(entries);
  let stops = 0;
  for (;;) {
    const r = build.next();
    if (r.done) return { index: r.value, stops };
    stops++;
  }
}

describe('the CIDR index', () => {
  it('reads an IPv4-mapped block as the IPv4 block under its last 32 bits (RFC 4291 2.5.5.2)', () => {
    fc.assert(
      fc.property(v4, fc.integer({ min: 96, max: 128 }), v4, (a, n, other) => {
        const mapped = parseBlock(`::ffff:${a}/${n}`)!;
        const plain = parseBlock(`${a}/${n - 96}`)!;
        expect([mapped[0].toString(), mapped[1]]).toEqual([plain[0].toString(), plain[1]]);
        const entries = [{ block: mapped, value: 'mapped' }];
        const addr = ipaddr().process(other);
        expect(scanTable(entries, addr)?.value ?? null).toBe(addr.match(plain) ? 'mapped' : null);
      }),
      { numRuns: 500 },
    );
    expect(scanTable([{ block: parseBlock('::ffff:10.0.0.0/104')!, value: 'ten' }], ipaddr().process('10.1.2.3'))?.value).toBe('ten');
  });

  it('finds the entry the linear scan finds, for any table and address', () => {
    fc.assert(
      fc.property(table, fc.array(address, { minLength: 1, maxLength: 20 }), (entries, addresses) => {
        const index = buildCidrIndexNow(entries);
        for (const a of addresses) {
          const addr = ipaddr().process(a);
          const found = findInIndex(index, addr);
          expect(found < 0 ? null : entries[found]).toBe(scanTable(entries, addr));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('answers so through CidrTables.lookup too, for addresses inside and around the blocks', () => {
    fc.assert(
      fc.property(table, (entries) => {
        const tables = new CidrTables();
        tables.define('t', { type: 'value', entries, defaultValue: '', interpolate: false });
        // Every block's first address and its neighbours: where segments begin and end.
        for (const { block } of entries) {
          const bytes = block[0].toByteArray();
          for (const delta of [-1, 0, 1]) {
            const near = [...bytes];
            near[near.length - 1] = (near[near.length - 1]! + delta + 256) % 256;
            const ip = ipaddr().fromByteArray(near).toString();
            expect(tables.lookup('t', ip)!.entry).toBe(scanTable(entries, ipaddr().process(ip)));
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('is the same index when its build stops at every step', () => {
    // Enough unsorted blocks for the sort and the sweep to stop many times.
    const entries: CidrEntry[] = Array.from({ length: 20_000 }, (_, i) => {
      const k = (i * 7919) % 20_000;
      return { block: parseBlock(i % 3 === 0 ? `2001:db8:${k.toString(16)}::/${48 + (i % 17)}` : `10.${k >> 8}.${k & 255}.0/${16 + (i % 17)}`)!, value: `${i}` };
    });
    const { index, stops } = builtStepwise(entries);
    expect(stops).toBeGreaterThan(20);
    expect(index).toEqual(buildCidrIndexNow(entries));
    for (const ip of ['10.0.0.1', '10.78.31.9', '10.255.255.255', '2001:db8:4e1f::1', '2001:db9::1', '192.0.2.1']) {
      const addr = ipaddr().process(ip);
      const found = findInIndex(index, addr);
      expect(found < 0 ? null : entries[found]).toBe(scanTable(entries, addr));
    }
  });

  it('gives none for an address outside every block and for text that is not an address', () => {
    const tables = new CidrTables();
    const entries = ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32'].map((b, i) => ({ block: parseBlock(b)!, value: `${i}` }));
    tables.define('t', { type: 'value', entries, defaultValue: 'none', interpolate: false });
    const value = (ip: string) => tables.lookup('t', ip)!.entry?.value ?? null;
    expect([value('10.1.2.3'), value('10.2.0.0'), value('11.0.0.0'), value('9.255.255.255'), value('2001:db8::1'), value('::ffff:10.1.0.1'), value('junk')]).toEqual([
      '1', '0', null, null, '2', '1', null,
    ]);
  });
});
