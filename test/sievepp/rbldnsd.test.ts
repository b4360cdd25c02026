/**
 * define_cidr's rbldnsd files: the ip4set reader (src/sievepp/rbldnsd.ts),
 * the host's file reader (rbldnsd-files.ts), and query_cidr / check_cidr
 * over what they make.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { productFunctions } from '../../src/policy/functions.js';
import { CidrTables, parseBlock } from '../../src/sievepp/cidr.js';
import { DATASET_TYPES, rangeBlocks, rbldnsdRows } from '../../src/sievepp/rbldnsd.js';
import { RbldnsdFiles } from '../../src/sievepp/rbldnsd-files.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';
import { valueOf } from './helpers.js';

const dir = tempDirPerTest('rbldnsd-');

const ZONE = `$SOA 3600 bl.example.test. hostmaster.example.test. 0 600 300 86400 300
# a comment
; another
:127.0.0.2:Listed: see https://bl.example.test/?ip=$
192.0.2.1
198.51.100 :127.0.0.4:Whole /24
203.0.113.8/29 Own text
10.1.2.10-20
!198.51.100.7
not an entry
`;

describe('rbldnsd ip4set data', () => {
  it('reads addresses, short forms, blocks, ranges and exceptions, each with its A value or TXT', () => {
    const txt = [...rbldnsdRows(ZONE, 'txt')];
    expect(txt.slice(0, 3)).toEqual([
      { cidr: '192.0.2.1/32', str: 'Listed: see https://bl.example.test/?ip=$' },
      { cidr: '198.51.100.0/24', str: 'Whole /24' },
      { cidr: '203.0.113.8/29', str: 'Own text' },
    ]);
    expect(txt.filter((r) => r.cidr.startsWith('10.1.2.')).map((r) => r.cidr)).toEqual(['10.1.2.10/31', '10.1.2.12/30', '10.1.2.16/30', '10.1.2.20/32']);
    expect(txt.at(-1)).toEqual({ cidr: '198.51.100.7/32', str: 'Listed: see https://bl.example.test/?ip=$', excluded: true });
    expect([...rbldnsdRows(ZONE, 'a')].slice(0, 3).map((r) => r.str)).toEqual(['127.0.0.2', '127.0.0.4', '127.0.0.2']);
    expect([...rbldnsdRows('1.2.3.4/24\n1.2.3.4-9\n', 'a')].map((r) => r.cidr)).toEqual(['1.2.3.0/24', '1.2.3.4/30', '1.2.3.8/31']);
  });

  it('property: a range is covered exactly by aligned blocks, each the largest that fits', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 100_000 }), (first, span) => {
        const last = Math.min(2 ** 32 - 1, first + span);
        let at = first;
        for (const b of rangeBlocks(first, last)) {
          const [addr, bits] = b.split('/');
          const n = addr!.split('.').reduce((v, o) => v * 256 + Number(o), 0);
          const size = 2 ** (32 - Number(bits));
          expect(n).toBe(at);
          expect(n % size).toBe(0);
          // Twice the size would not be aligned or would pass the end.
          expect(n % (size * 2) !== 0 || n + size * 2 - 1 > last).toBe(true);
          at += size;
        }
        expect(at).toBe(last + 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: any line, of any dataset type, is an entry or skipped, never an error; an entry is a block define_cidr reads', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.stringMatching(/^!?[0-9a-f:./-]{1,40}( [:#;]?[\w:.]{0,10})?$/)), fc.constantFrom(undefined, ...DATASET_TYPES), (line, type) => {
        for (const r of rbldnsdRows(line, 'txt', type)) {
          expect(r.cidr).toMatch(/^(\d+\.\d+\.\d+\.\d+|[0-9a-f:]+)\/\d+$/);
          expect(parseBlock(r.cidr)).toBeDefined();
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('define_cidr with dstype "rbldnsd"', () => {
  const define = (file: string, type: string) =>
    `$c = hash_create; hash_set $c "cidrname" "bl"; hash_set $c "dstype" "rbldnsd"; hash_set $c "query" "${file}?want=txt"; hash_set $c "type" "${type}"; hash_set $c "interpolate" "true"; define_cidr $c;`;
  const host = () => ({ cidr: new CidrTables(), rbldnsd: new RbldnsdFiles(dir()) });
  const options = (h: ReturnType<typeof host>) => ({ compile: { functions: productFunctions() }, host: h });

  it('answers query_cidr with the TXT of the most specific entry, the address in place of $, and nothing for an exception', async () => {
    writeFileSync(join(dir(), 'bl.zone'), ZONE);
    const h = host();
    const q = (ip: string) => valueOf(`${define('bl.zone', 'value')} $q = query_cidr :ip "${ip}" "bl";`, 'q', options(h));
    expect(await q('192.0.2.1')).toBe('Listed: see https://bl.example.test/?ip=192.0.2.1');
    expect(await q('198.51.100.9')).toBe('Whole /24');
    expect(await q('198.51.100.7')).toBe('');
    expect(await q('192.0.2.2')).toBe('');
    expect(await valueOf(`${define('bl.zone', 'boolean')} $t = "no"; if check_cidr :ip "10.1.2.15" "bl" { $t = "yes"; }`, 't', options(host()))).toBe('yes');
  });

  it('gives the same rows while the file is unchanged, and the new ones once it changed; a query without want= is refused', async () => {
    const file = join(dir(), 'z');
    writeFileSync(file, '192.0.2.1\n');
    const files = new RbldnsdFiles(dir());
    const first = await files.query('z?want=a');
    expect(await files.query('z?want=a')).toBe(first);
    writeFileSync(file, '192.0.2.1\n192.0.2.2\n');
    expect((await files.query('z?want=a')).map((r) => r.cidr)).toEqual(['192.0.2.1/32', '192.0.2.2/32']);
    await expect(files.query('z')).rejects.toThrow(/want=a or want=txt/);
  });
});
