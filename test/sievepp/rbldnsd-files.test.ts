/**
 * The host's rbldnsd file reader (src/sievepp/rbldnsd-files.ts): a file
 * read a chunk at a time, its lines given to the line reader in slices,
 * gives the rows the whole text split in one step gives (rbldnsdRows).
 */
import { isUtf8 } from 'node:buffer';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Row } from '../../src/sievepp/datasource.js';
import { DATASET_TYPES, type DatasetType, rbldnsdRows } from '../../src/sievepp/rbldnsd.js';
import { RbldnsdFiles } from '../../src/sievepp/rbldnsd-files.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';
import { turnCounter } from '../helpers/turn-counter.js';

const dir = tempDirPerTest('rbldnsd-files-');

/** The rows of a text as the one-step reader makes them, in the host's form. */
const reference = (text: string, want: 'a' | 'txt', type?: DatasetType): Row[] => [...rbldnsdRows(text, want, type)].map((r): Row => (r.excluded ? { cidr: r.cidr, str: r.str, excluded: 'true' } : { cidr: r.cidr, str: r.str }));

/** Lines of an rbldnsd file: IPv4 and IPv6 entries of every form, values, defaults, comments, $ lines, and noise. */
const lineArb = fc.oneof(
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')),
  fc.tuple(fc.nat(255), fc.nat(255), fc.integer({ min: 0, max: 32 })).map(([a, b, n]) => `${a}.${b}/${n}`),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map(([a, b, c, d]) => `${a}.${b}.${c}.${Math.min(c, d)}-${Math.max(c, d)}`),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => `!${o.join('.')}.1`),
  fc.tuple(fc.nat(255), fc.nat(255), fc.string({ maxLength: 12 })).map(([a, b, t]) => `${a}.${b}.0.0/16 :127.0.0.${a}:${t}`),
  fc.tuple(fc.nat(255), fc.string({ unit: 'grapheme', maxLength: 12 })).map(([a, t]) => `${a}.1.2.3 ${t}`),
  fc.string({ unit: 'grapheme', maxLength: 14 }).map((t) => `:127.0.0.3:${t}`),
  fc.tuple(fc.constantFrom('2001:db8', '::', '2001:db8::1', 'fe80:0:0:1', 'abcd:1:2:3:4:5:6:7'), fc.integer({ min: 0, max: 128 }), fc.boolean()).map(([a, n, slash]) => (slash ? `${a}/${n}` : a)),
  fc.tuple(fc.constantFrom('!2001:db8::9', '2001:db8:1:2', '::1'), fc.constantFrom('', ' :127.0.0.5:six', ' six alone', ' # note')).map(([a, v]) => a + v),
  fc.constantFrom('# comment', '; comment', '$SOA 3600 a. b. 0 600 300 86400 300', '', '   ', 'not an entry'),
  fc.string({ maxLength: 20 }),
);

describe('the rbldnsd file reader', () => {
  it('property: any file, read in chunks of any size with lines across chunks, gives the rows of its whole text, UTF-8 or ISO-8859-1', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineArb, { maxLength: 30 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 23 }),
        fc.constantFrom<'a' | 'txt'>('a', 'txt'),
        fc.constantFrom(undefined, ...DATASET_TYPES),
        async (lines, eol, finalEol, latin1, chunkBytes, want, type) => {
          const text = lines.join(eol) + (finalEol ? eol : '');
          // ISO-8859-1 octets of the text's code points below 256 (what is above, dropped): usually not UTF-8.
          const octets = latin1 ? Buffer.from([...text].filter((c) => c.codePointAt(0)! < 256).join(''), 'latin1') : Buffer.from(text, 'utf8');
          const file = `f${n++}`;
          writeFileSync(join(dir(), file), octets);
          const read = isUtf8(octets) ? octets.toString('utf8') : octets.toString('latin1');
          const files = new RbldnsdFiles(dir(), { chunkBytes, sliceMs: 0 });
          expect(await files.query(`${file}?want=${want}${type ? `&type=${type}` : ''}`)).toEqual(reference(read, want, type));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads a large file with the event loop turning while it does, and the rows of its whole text', async () => {
    const lines: string[] = [':127.0.0.2:Listed: $'];
    for (let i = 0; i < 120_000; i++) lines.push(i % 7 === 0 ? `!10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}${i % 3 ? '' : ' :127.0.0.4:Own'}`);
    const text = `${lines.join('\n')}\n`;
    writeFileSync(join(dir(), 'big.zone'), text);
    const turns = turnCounter();
    const rows = await new RbldnsdFiles(dir(), { chunkBytes: 64 * 1024 }).query('big.zone?want=txt');
    // 2.2 MB in 64 KiB chunks: a read of the thread pool at least every chunk.
    expect(turns.stop()).toBeGreaterThanOrEqual(16);
    expect(rows).toEqual(reference(text, 'txt'));
  });
});
