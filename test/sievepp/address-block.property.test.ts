/**
 * The test of normalised addresses against a CIDR block
 * (src/sievepp/address-block.ts) agrees with ipaddr.js parsing each
 * address and matching it, for IPv4, IPv6 and IPv4-mapped addresses and
 * every prefix length; strings that are not addresses are never in a
 * block.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { blockOf, inBlock, normalizedAddress, singleAddress } from '../../src/sievepp/address-block.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.'));
const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => ipaddr.IPv6.parse(g.map((x) => x.toString(16)).join(':')).toString());
const mapped = v4.map((a) => `::ffff:${a}`);
const address = fc.oneof(v4, v6, mapped);
/** An address near another: the same but for its last bits, so that blocks of every length both hold and miss it. */
const near = (a: string) => fc.nat(0xffffffff).map((r) => {
  const p = ipaddr.process(a);
  const bytes = p.toByteArray();
  const last = bytes.length - 1;
  bytes[last] = (bytes[last]! ^ (r & 0xff)) & 0xff;
  bytes[last - 1] = (bytes[last - 1]! ^ ((r >> 8) & ((r >> 16) & 1 ? 0xff : 0))) & 0xff;
  return ipaddr.fromByteArray(bytes).toString();
});

describe('address blocks', () => {
  it('holds a normalised address exactly when ipaddr.js matches it', () => {
    fc.assert(
      fc.property(address.chain((a) => fc.tuple(fc.constant(a), fc.oneof(address, near(a)))), fc.integer({ min: -1, max: 130 }), ([base, other], mask) => {
        const block = blockOf(base, mask)!;
        const parsed = ipaddr.process(other);
        const want = parsed.kind() === block[0].kind() && parsed.match(block);
        expect(inBlock(block)(normalizedAddress(other)!)).toBe(want);
        const one = singleAddress(block);
        if (one !== undefined) expect(one === normalizedAddress(other)).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('holds no string that is not an address', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF.:x -'), maxLength: 45 }), fc.constantFrom('0.0.0.0', '::'), (s, base) => {
        // A block of length 0 holds every address of its family; what passes must read as one.
        if (inBlock(blockOf(base, 0)!)(s)) expect(ipaddr.isValid(s)).toBe(true);
      }),
      { numRuns: 3000 },
    );
    for (const s of ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '1..2.3', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:12345', '::1', 'x.1.2.3']) {
      expect(inBlock(blockOf('0.0.0.0', 0)!)(s) || inBlock(blockOf('::', 0)!)(s)).toBe(false);
    }
  });
});
