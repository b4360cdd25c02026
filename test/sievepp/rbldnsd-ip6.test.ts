/**
 * IPv6 in define_cidr's rbldnsd files: the ip6trie and ip6tset forms
 * (rbldnsd(8)) and Momentum's reading of both families in one file
 * (4/lua/ref-msys-cidr-define.md), read by the host's reader and looked up
 * through define_cidr and query_cidr.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import Ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { productFunctions } from '../../src/policy/functions.js';
import { CidrTables } from '../../src/sievepp/cidr.js';
import { rbldnsdRows } from '../../src/sievepp/rbldnsd.js';
import { RbldnsdFiles } from '../../src/sievepp/rbldnsd-files.js';
import { getValue } from '../../src/sievepp/values.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';
import { runPP } from './helpers.js';

const dir = tempDirPerTest('rbldnsd-ip6-');

const MIXED = `:127.0.1.2: Listed, see https://bl.example.test/?$
# trailing groups left out: 2001:db8:c000::/36
2001:db8:c000/36
2001:db8:def7:4242 :127.0.1.3: This one has its own
2001:db8:42::/52
::1                   # loopback, the default value
!2001:db8:42::bead
1111::0000 :127.0.0.5:Momentum's form, a space before the value
1111::0001:
10.79.0.0:127.0.0.6:IPv4, the value at once
127/8 ; a comment, the default value
`;

describe('rbldnsd IPv6 entries', () => {
  it('reads ip6trie prefixes, short forms, :: forms, exceptions and values, beside IPv4 entries', () => {
    expect([...rbldnsdRows(MIXED, 'txt')]).toEqual([
      { cidr: '2001:db8:c000::/36', str: ' Listed, see https://bl.example.test/?$' },
      { cidr: '2001:db8:def7:4242::/64', str: ' This one has its own' },
      { cidr: '2001:db8:42::/52', str: ' Listed, see https://bl.example.test/?$' },
      { cidr: '::1/128', str: ' Listed, see https://bl.example.test/?$' },
      { cidr: '2001:db8:42::bead/128', str: ' Listed, see https://bl.example.test/?$', excluded: true },
      { cidr: '1111::/128', str: "Momentum's form, a space before the value" },
      { cidr: '10.79.0.0/32', str: 'IPv4, the value at once' },
      { cidr: '127.0.0.0/8', str: ' Listed, see https://bl.example.test/?$' },
    ]);
    expect([...rbldnsdRows(MIXED, 'a')].map((r) => r.str)).toEqual(['127.0.1.2', '127.0.1.3', '127.0.1.2', '127.0.1.2', '127.0.1.2', '127.0.0.5', '127.0.0.6', '127.0.1.2']);
  });

  it('refuses what is no IPv6 entry: a lone group, two ::, a group of five digits, a length past 128, a range', () => {
    for (const line of ['2001', 'abcd::1::2', '12345::1', '2001:db8::/129', '2001:db8::1-2001:db8::9', '2001:db8::1x']) expect([...rbldnsdRows(line, 'a')]).toEqual([]);
    // A lone group with a length is a prefix (to ip6trie: without a type, 2001/16 is no IPv4 entry).
    expect([...rbldnsdRows('2001/16\n2001:db8::1/64:127.0.0.3:after the length', 'txt', 'ip6trie')]).toEqual([
      { cidr: '2001::/16', str: '' },
      { cidr: '2001:db8::/64', str: 'after the length' },
    ]);
  });

  it('type= reads one rbldnsd dataset: ip4set IPv4 alone, ip6trie IPv6 alone, ip6tset /64s and /128 exceptions with the first default value', () => {
    expect([...rbldnsdRows(MIXED, 'a', 'ip4set')].map((r) => r.cidr)).toEqual(['10.79.0.0/32', '127.0.0.0/8']);
    // 127/8 is a group and a length to ip6trie, as rbldnsd reads it: 0127::/8, whose first address is 100::.
    expect([...rbldnsdRows(MIXED, 'a', 'ip6trie')].map((r) => r.cidr)).toEqual(['2001:db8:c000::/36', '2001:db8:def7:4242::/64', '2001:db8:42::/52', '::1/128', '2001:db8:42::bead/128', '1111::/128', '100::/8']);
    // Without a type, an entry whose first character past its digits is not : or a hex letter is IPv4, and one that
    // does not read as IPv6 is read as IPv4 (its value at once after it).
    expect([...rbldnsdRows('1::2::3\n10:127.0.0.3:ten', 'txt')]).toEqual([
      { cidr: '1.0.0.0/8', str: '2::3' },
      { cidr: '10.0.0.0/8', str: 'ten' },
    ]);
    const tset = '2001:db8:1:2\n:127.0.0.3:First default\n:127.0.0.4:Not read\n2001:db8:1:3 own text ignored\n2001:db8::/48\n2001:db8:1:2:3\n!2001:db8:1:2::9\n!2001:db8:1:3\n';
    expect([...rbldnsdRows(tset, 'txt', 'ip6tset')]).toEqual([
      { cidr: '2001:db8:1:2::/64', str: 'First default' },
      { cidr: '2001:db8:1:3::/64', str: 'First default' },
      { cidr: '2001:db8:1:2::9/128', str: 'First default', excluded: true },
    ]);
  });

  it('define_cidr answers IPv6 look-ups from an rbldnsd file, exceptions not listed, and IPv4 ones from the same file', async () => {
    writeFileSync(join(dir(), 'bl6.zone'), MIXED);
    const host = { cidr: new CidrTables(), rbldnsd: new RbldnsdFiles(dir()) };
    const define = `$c = hash_create; hash_set $c "cidrname" "bl"; hash_set $c "dstype" "rbldnsd"; hash_set $c "query" "bl6.zone?want=txt"; hash_set $c "type" "value"; hash_set $c "interpolate" "true"; define_cidr $c;`;
    const q = async (ip: string) => {
      const r = await runPP(`${define} $q = query_cidr :ip "${ip}" "bl";`, { compile: { functions: productFunctions() }, host });
      expect(r.errors).toEqual([]);
      return getValue(r.runtime, 'q');
    };
    expect(await q('2001:db8:42::1')).toBe(' Listed, see https://bl.example.test/?2001:db8:42::1');
    expect(await q('2001:db8:42::bead')).toBe('');
    expect(await q('2001:db8:def7:4242:1:2:3:4')).toBe(' This one has its own');
    expect(await q('2001:db8:cfff::1')).toBe(' Listed, see https://bl.example.test/?2001:db8:cfff::1');
    expect(await q('2001:db8:d000::1')).toBe('');
    expect(await q('10.79.0.0')).toBe('IPv4, the value at once');
    await expect(host.rbldnsd.query('bl6.zone?want=a&type=ip5set')).rejects.toThrow(/type= is ip4set, ip6trie, ip6tset or none/);
  });
});

/** A block of the test's address space: 2001:db8 then groups drawn from a few values, so that blocks nest and meet. */
const blockArb = fc.record({
  words: fc.tuple(...Array.from({ length: 6 }, () => fc.constantFrom(0, 1, 0x42, 0x8000, 0xffff))).map((w) => [0x2001, 0x0db8, ...w]),
  len: fc.oneof(fc.constantFrom(0, 16, 32, 48, 64, 96, 112, 128), fc.integer({ min: 0, max: 128 })),
  form: fc.constantFrom('full', 'compressed', 'short'),
  excluded: fc.boolean(),
  value: fc.constantFrom('', ' :127.0.0.3:own', ' text alone', ' # a comment', ' :127.0.0.4:'),
});
type Block = typeof blockArb extends fc.Arbitrary<infer T> ? T : never;

const toBig = (words: number[]) => words.reduce((v, w) => (v << 16n) | BigInt(w), 0n);
const fromBig = (v: bigint) => Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(16 * (7 - i))) & 0xffffn));
const text6 = (v: bigint) => new Ipaddr.IPv6(fromBig(v)).toString();
const ALL = (1n << 128n) - 1n;
const firstOf = (b: Block) => toBig(b.words) & ~(ALL >> BigInt(b.len)) & ALL;
const lastOf = (b: Block) => firstOf(b) | (ALL >> BigInt(b.len));

/** A block as a line of the file, in the form drawn (a short form only where its groups name the block exactly). */
function line(b: Block): string {
  const first = fromBig(firstOf(b));
  const entry =
    b.form === 'short' && b.len % 16 === 0 && b.len >= 32
      ? first.slice(0, b.len / 16).map((w) => w.toString(16)).join(':')
      : b.form === 'compressed'
        ? `${new Ipaddr.IPv6(b.words).toString()}/${b.len}`
        : `${b.words.map((w) => w.toString(16)).join(':')}/${b.len}`;
  return `${b.excluded ? '!' : ''}${entry}${b.value}`;
}

/** The reference: the longest block holding the address, the first in the file of those as long; an exception or none, not listed. */
function expected(blocks: Block[], defaultTxt: string, addr: bigint): string {
  let best: Block | undefined;
  for (const b of blocks) if (addr >= firstOf(b) && addr <= lastOf(b) && (!best || b.len > best.len)) best = b;
  if (!best || best.excluded) return 'none';
  const v = best.value.trim();
  return v === '' || v.startsWith('#') ? defaultTxt : v.startsWith(':') ? v.slice(v.indexOf(':', 1) + 1) : v;
}

describe('IPv6 rbldnsd files through define_cidr', () => {
  it('property: any set of IPv6 blocks and exceptions, written in the file\'s forms, answers every look-up as a plain longest-prefix scan', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(blockArb, { minLength: 1, maxLength: 12 }), fc.boolean(), fc.constantFrom(undefined, 'ip6trie'), async (blocks, withDefault, type) => {
        const defaultTxt = withDefault ? 'listed by default' : '';
        const file = `p${n++}.zone`;
        writeFileSync(join(dir(), file), `${withDefault ? `:127.0.0.2:${defaultTxt}\n` : ''}${blocks.map(line).join('\n')}\n`);
        const addrs = [...new Set(blocks.flatMap((b) => [firstOf(b), lastOf(b), firstOf(b) - 1n, lastOf(b) + 1n]).filter((a) => a >= 0n && a <= ALL))];
        const query = `${file}?want=txt${type ? `&type=${type}` : ''}`;
        const script = [
          `$c = hash_create; hash_set $c "cidrname" "bl"; hash_set $c "dstype" "rbldnsd"; hash_set $c "query" "${query}"; hash_set $c "type" "value"; hash_set $c "default_value" "none"; define_cidr $c;`,
          ...addrs.map((a, i) => `$r${i} = query_cidr :ip "${text6(a)}" "bl";`),
        ].join('\n');
        const r = await runPP(script, { compile: { functions: productFunctions() }, host: { cidr: new CidrTables(), rbldnsd: new RbldnsdFiles(dir()) } });
        expect(r.errors).toEqual([]);
        addrs.forEach((a, i) => expect([text6(a), getValue(r.runtime, `r${i}`)]).toEqual([text6(a), expected(blocks, defaultTxt, a)]));
      }),
      { numRuns: 120 },
    );
  });
});
