/**
 * The message parser (src/sieve/runtime/message.ts) against a plain
 * reading of RFC 5322 2.1 and 2.2.3: line ends made CRLF, the header
 * section up to the first empty line, each field's raw text as written and
 * its value unfolded; the same whether the parse runs in one step or in
 * time slices that pause anywhere, folded values past the parser's
 * unfolding chunk included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasHeaderField, headerValues, indexedHeaderValues, parseMessage, parseMessageIn, type SieveMessage } from '../../../src/sieve/runtime/message.js';

/** The parse spelled out line by line, joining strings: slow, plainly right. */
function reference(text: string): Omit<SieveMessage, 'octets' | 'load' | 'prepare'> {
  const raw = text.replace(/\r?\n/g, '\r\n');
  let headerEnd = raw.indexOf('\r\n\r\n');
  let bodyStart = headerEnd + 4;
  let hasBody = true;
  if (raw.startsWith('\r\n')) [headerEnd, bodyStart] = [0, 2];
  else if (headerEnd < 0) [headerEnd, bodyStart, hasBody] = [raw.length, raw.length, false];
  const headers: Array<{ name: string; lname: string; value: string; raw: string }> = [];
  let cur: (typeof headers)[number] | null = null;
  const lines = headerEnd === 0 ? [] : raw.slice(0, headerEnd).split('\r\n');
  for (const line of lines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && cur) {
      cur.value += line;
      cur.raw += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).replace(/[ \t]+$/, '') : '';
    cur = colon > 0 && /^[\x21-\x39\x3b-\x7e]+$/.test(name) ? { name, lname: name.toLowerCase(), value: line.slice(colon + 1), raw: line } : null;
    if (cur) headers.push(cur);
  }
  return { raw, headers, body: raw.slice(bodyStart), size: Buffer.byteLength(raw), hasBody };
}

const plain = (m: SieveMessage) => ({ raw: m.raw, headers: m.headers.map((h) => ({ name: h.name, lname: h.lname, value: h.value, raw: h.raw })), body: m.body, size: m.size, hasBody: m.hasBody });

/** Header-ish text: names, colons, values, folding white space and every kind of line end. */
const pieces = fc.constantFrom('Subject', 'X-A', 'to', ':', ': ', ' ', '\t', 'value', 'x', '\r\n', '\n', '\r', '\r\n ', '\r\n\t', '\r\n\r\n', 'é', '=?utf-8?q?a?=');
const messages = fc.array(pieces, { maxLength: 60 }).map((p) => p.join(''));
/** A field folded past the unfolding chunk (64 KiB), between ordinary text. */
const longFolded = fc.tuple(messages, fc.integer({ min: 20_000, max: 40_000 }), fc.constantFrom('\r\n ', '\r\n\t', '\n '), messages).map(([before, n, fold, after]) => `${before}\r\nSubject: a${`${fold}bc`.repeat(n)}\r\n${after}`);

/** A budget whose slices end every `every` lines: the parse pauses there and goes on. */
function slicing(every: number) {
  let n = 0;
  return {
    charge: () => undefined,
    get yieldDue() {
      return ++n % every === 0;
    },
    pause: () => Promise.resolve(),
  };
}

describe('parsing a message', () => {
  it('agrees with the line-by-line reading, in one step', () => {
    fc.assert(
      fc.property(messages, (text) => {
        expect(plain(parseMessage(text))).toEqual(reference(text));
      }),
    );
  });

  it('agrees in time slices that end anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(messages, fc.integer({ min: 1, max: 5 }), async (text, every) => {
        expect(plain(await parseMessageIn(text, slicing(every)))).toEqual(reference(text));
      }),
    );
  });

  it('agrees for a field folded over more than the unfolding chunk, sliced or not', async () => {
    await fc.assert(
      fc.asyncProperty(longFolded, fc.integer({ min: 1, max: 5000 }), async (text, every) => {
        const want = reference(text);
        expect(plain(parseMessage(text))).toEqual(want);
        expect(plain(await parseMessageIn(text, slicing(every)))).toEqual(want);
      }),
      { numRuns: 20 },
    );
  });
});

describe('looking fields up by name', () => {
  // The index (a few fields), the scan of the noted name hashes (a sliced parse of many) and the plain scan (many, in one step).
  const many = fc.tuple(messages, fc.integer({ min: 0, max: 2500 })).map(([text, n]) => `${Array.from({ length: n }, (_, i) => `X-F${i % 7}: ${i}\r\n`).join('')}${text}`);
  const asked = fc.constantFrom('subject', 'x-a', 'to', 'x-f3', 'x-f', 'é', '');

  it('finds the values the line-by-line reading has under that name, however the fields were parsed', async () => {
    await fc.assert(
      fc.asyncProperty(many, asked, fc.integer({ min: 1, max: 500 }), async (text, name, every) => {
        const want = reference(text).headers.filter((h) => h.lname === name).map((h) => h.value);
        expect(headerValues(parseMessage(text), name)).toEqual(want);
        expect(indexedHeaderValues(parseMessage(text), name)).toEqual(want);
        expect(indexedHeaderValues(await parseMessageIn(text, slicing(every)), name)).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });

  it('says a field is present exactly when one is under that name, before and after the index is made', async () => {
    await fc.assert(
      fc.asyncProperty(many, asked, fc.integer({ min: 1, max: 500 }), async (text, name, every) => {
        const present = reference(text).headers.some((h) => h.lname === name);
        const m = parseMessage(text);
        expect(hasHeaderField(m, name)).toBe(present);
        indexedHeaderValues(m, name);
        expect(hasHeaderField(m, name)).toBe(present);
        expect(hasHeaderField(await parseMessageIn(text, slicing(every)), name)).toBe(present);
      }),
      { numRuns: 60 },
    );
  });
});
