/**
 * Property tests for the Sieve++ parsers and codecs: RFC 7208 macros, the
 * CSV datasource's reader, quoted-printable, monitors and CIDR blocks. Any
 * input gives an answer (never an exception), and what is encoded decodes back.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBlock, parseBlockByIpaddr } from '../../src/sievepp/cidr.js';
import { parseMonitor } from '../../src/sievepp/counters.js';
import { CsvReader, parseCsv, parseCsvInSlices } from '../../src/sievepp/datasources/csv-parse.js';
import { quotedPrintable } from '../../src/sievepp/functions/strings.js';
import { expandSpfMacro } from '../../src/sievepp/spf-macros.js';

const facts = { sender: 'strong-bad@email.example.com', ip: '192.0.2.3', helo: 'mx.example.org', now: 1_700_000_000 };

describe('RFC 7208 macros', () => {
  it('reproduce the examples of RFC 7208 section 7.4 (and sieve-ecaddons.md)', () => {
    const x = (spec: string) => expandSpfMacro(spec, facts);
    expect([x('s'), x('o'), x('d'), x('d4'), x('d3'), x('d2'), x('d1'), x('dr'), x('d2r')]).toEqual([
      'strong-bad@email.example.com', 'email.example.com', 'email.example.com', 'email.example.com', 'email.example.com', 'example.com', 'com', 'com.example.email', 'example.email',
    ]);
    expect([x('l'), x('l-'), x('lr'), x('lr-'), x('l1r-'), x('i'), x('ir'), x('v')]).toEqual(['strong-bad', 'strong.bad', 'strong-bad', 'bad.strong', 'strong', '192.0.2.3', '3.2.0.192', 'in-addr']);
    expect(expandSpfMacro('ir', { ...facts, ip: '2001:db8::cb01' })).toBe('1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2');
    expect(expandSpfMacro('p', facts)).toBe('unknown');
  });

  it('never throw, and give undefined for what is not a macro', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (spec, sender) => {
        const r = expandSpfMacro(spec, { ...facts, sender });
        expect(r === undefined || typeof r === 'string').toBe(true);
      }),
    );
  });
});

describe('the CSV reader (RFC 4180)', () => {
  const field = fc.string().filter((s) => !s.includes('\r'));
  const encode = (rows: string[][]) => rows.map((r) => r.map((f) => `"${f.replace(/"/g, '""')}"`).join(',')).join('\r\n');

  it('reads back what RFC 4180 quoting wrote', () => {
    fc.assert(
      fc.property(fc.array(fc.array(field, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 10 }), (rows) => {
        expect(parseCsv(encode(rows))).toEqual(rows);
      }),
    );
  });

  it('never throws on any text', () => {
    fc.assert(fc.property(fc.string(), (t) => void parseCsv(t)));
  });

  /** The reader as it was, a character at a time in one go: what the sliced reader must give for any text. */
  function referenceCsv(text: string): string[][] {
    const rows: string[][] = [];
    let row: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (quoted) {
        if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
        else if (c === '"') quoted = false;
        else field += c;
      } else if (c === '"' && field === '') quoted = true;
      else if (c === ',') row.push(field), (field = '');
      else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') i++;
        row.push(field);
        if (row.length > 1 || row[0] !== '') rows.push(row);
        (row = []), (field = '');
      } else field += c;
    }
    if (field !== '' || row.length) rows.push([...row, field]);
    return rows;
  }

  // Text made mostly of what the reader acts on: quotes, commas, CR, LF, CRLF.
  const csvText = fc.oneof(fc.string({ unit: fc.constantFrom('"', '""', ',', '\r', '\n', '\r\n', 'a', 'b c', 'é', '😀') }), fc.string({ unit: 'grapheme' }));

  it('reads any text in slices exactly as the reference reads it in one go', () => {
    fc.assert(
      fc.property(csvText, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 5 }), (text, stepChars, steps) => {
        const reader = new CsvReader(text, stepChars);
        let slices = 0;
        while (!reader.read(steps)) slices++;
        const expected = referenceCsv(text);
        expect(reader.records).toEqual(expected);
        expect(parseCsv(text)).toEqual(expected);
        // Reading on after the end adds nothing.
        reader.read(steps);
        expect(reader.records).toEqual(expected);
        expect(slices).toBeLessThanOrEqual(text.length + 1);
      }),
    );
  });

  it('gives the same records when the event loop runs between slices', async () => {
    await fc.assert(
      fc.asyncProperty(csvText, async (text) => {
        expect(await parseCsvInSlices(text, 0)).toEqual(referenceCsv(text));
      }),
      { numRuns: 50 },
    );
  });

  it('reads runs longer than a step, quoted and not, as one field', () => {
    const long = `${'x'.repeat(40_000)},"${'y'.repeat(20_000)}""${'z'.repeat(20_000)}"\r\n${'w'.repeat(16_384)}`;
    expect(parseCsv(long)).toEqual(referenceCsv(long));
    expect(parseCsv(long).map((r) => r.map((f) => f.length))).toEqual([[40_000, 40_001], [16_384]]);
  });
});

describe('quoted-printable (RFC 2045 6.7)', () => {
  const decode = (s: string) => Buffer.from(s.replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1');

  it('writes printable ASCII only, and decodes back to the octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const qp = quotedPrintable(bytes);
        expect(qp).toMatch(/^[\x20-\x7e]*$/);
        expect(qp.endsWith(' ')).toBe(false);
        expect([...decode(qp)]).toEqual([...bytes]);
      }),
    );
  });
});

describe('monitors and CIDR blocks', () => {
  it('a monitor is "seconds,windows"; anything else is undefined', () => {
    expect(parseMonitor('300,6')).toEqual({ window: 300, windows: 6 });
    fc.assert(fc.property(fc.string(), (t) => void parseMonitor(t)));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 1000 }), (w, n) => {
          expect(parseMonitor(`${w},${n}`)).toEqual({ window: w, windows: n });
        }),
    );
  });

  it('a block parses from CIDR or a single address, and never throws', () => {
    expect(parseBlock('10.0.0.1')?.[1]).toBe(32);
    expect(parseBlock('2001:db8::/32')?.[1]).toBe(32);
    expect(parseBlock('10.0.0.0/99')).toBeUndefined();
    fc.assert(fc.property(fc.string(), (t) => void parseBlock(t)));
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), (ip, bits) => {
          expect(parseBlock(`${ip}/${bits}`)?.[1]).toBe(bits);
        }),
    );
  });

  it('a dotted IPv4 block, read without ipaddr.js, is the block ipaddr.js reads (leading zeros, octal, ranges)', () => {
    const part = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '010', '08', '0x1f', '255', '256', '', '-1', '1e2'));
    const text = fc
      .tuple(fc.array(part, { minLength: 1, maxLength: 5 }), fc.option(fc.oneof(fc.integer({ min: 0, max: 40 }).map(String), fc.constantFrom('032', '08', '', '3 2'))), fc.constantFrom('', ' '))
      .map(([parts, bits, pad]) => `${pad}${parts.join('.')}${bits === null ? '' : `/${bits}`}${pad}`);
    fc.assert(
      fc.property(text, (t) => {
        expect(parseBlock(t)).toEqual(parseBlockByIpaddr(t));
      }),
      { numRuns: 5000 },
    );
  });
});
