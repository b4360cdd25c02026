/**
 * A spooled body read in pieces (body-text.ts) is the body a script reads
 * whole (SieveMessage.body): the same text, whatever the octets (bare LFs,
 * multi-octet characters and invalid UTF-8 cut between two reads, no
 * body, an empty one) and whatever the read size, also for a message whose
 * header section was replaced (withHead); and any range read in pieces is
 * the text the MIME reader reads for it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textPieces, withCrlf } from '../../src/session/body-text.js';
import { fileSource, LineScan, type MessageSource, sieveView, withHead } from '../../src/session/message-source.js';
import { parseMessage } from '../../src/sieve/index.js';

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-body-text-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function spooled(bytes: Buffer): Promise<MessageSource> {
  const path = join(dir, `m${++n}`);
  await writeFile(path, bytes);
  const scan = new LineScan();
  scan.push(bytes);
  return fileSource(path, { size: bytes.length, bareLf: scan.bareLf, head: scan.headEnd >= 0 ? bytes.subarray(0, scan.headEnd) : undefined });
}

async function joined(pieces: AsyncIterable<string>): Promise<string> {
  let all = '';
  for await (const p of pieces) {
    expect(p).not.toBe('');
    all += p;
  }
  return all;
}

/** Lines of mail-like octets: CRLF or a bare LF or a lone CR, text with ü and €, and bytes that are no UTF-8. */
const line = fc.tuple(
  fc.array(fc.constantFrom('a', 'Z', ' ', 'ü', '€', '😀', ':', '\r'), { maxLength: 12 }).map((cs) => Buffer.from(cs.join(''))),
  fc.array(fc.constantFrom(0xff, 0xc3, 0xe2, 0x82, 0x80), { maxLength: 2 }).map((b) => Buffer.from(b)),
  fc.constantFrom('\r\n', '\n', '\r\n'),
).map(([text, bad, end]) => Buffer.concat([text, bad, Buffer.from(end)]));
const message = fc.tuple(fc.array(line, { maxLength: 6 }), fc.constantFrom('\r\n', '\n', ''), fc.array(line, { maxLength: 30 })).map(([head, empty, body]) => Buffer.concat([...head.map((l) => (l.length > 2 ? l : Buffer.from('X: y\r\n'))), Buffer.from(empty), ...body]));

describe('the body in pieces', () => {
  it('is the body a script reads whole, for any octets and read size', async () => {
    await fc.assert(
      fc.asyncProperty(message, fc.integer({ min: 1, max: 40 }), async (bytes, piece) => {
        const source = await spooled(bytes);
        const whole = parseMessage(bytes.toString('utf8'));
        if (source.head) {
          expect(await joined(textPieces(source, source.head.length, source.size, source.crlfSize !== source.size, piece))).toBe(whole.body);
          // As the session gives it to scripts: with the default read size, until the message is loaded.
          const view = sieveView(source);
          expect(await joined(view.bodyPieces!()!)).toBe(whole.body);
          await source.load!();
          expect(view.bodyPieces!()).toBeUndefined();
        } else {
          expect(sieveView(source).bodyPieces?.()).toBeUndefined();
        }
        await source.dispose();
      }),
      { numRuns: 300 },
    );
  });

  it('is the same body under a replaced header section', async () => {
    await fc.assert(
      fc.asyncProperty(message, fc.integer({ min: 1, max: 40 }), async (bytes, piece) => {
        const source = await spooled(bytes);
        if (!source.head) return;
        const head = Buffer.concat([Buffer.from('Authentication-Results: here.test; none\r\n'), source.head]);
        const changed = withHead(source, head);
        const whole = parseMessage(changed.bytes().toString('utf8'));
        expect(await joined(textPieces(changed, head.length, changed.size, changed.crlfSize !== changed.size, piece))).toBe(whole.body);
        await changed.dispose();
      }),
      { numRuns: 150 },
    );
  });

  it('gives any range as the MIME reader reads it (a part\'s body), also under a replaced header section', async () => {
    await fc.assert(
      fc.asyncProperty(message, fc.nat(), fc.nat(), fc.integer({ min: 1, max: 40 }), async (bytes, a, b, piece) => {
        const source = await spooled(bytes);
        const bareLf = source.crlfSize !== source.size;
        const [start, end] = [a % (bytes.length + 1), b % (bytes.length + 1)].sort((x, y) => x - y) as [number, number];
        const asRead = (octets: Buffer) => (bareLf ? octets.toString('utf8').replace(/\r?\n/g, '\r\n') : octets.toString('utf8'));
        expect(await joined(textPieces(source, start, end, bareLf, piece))).toBe(asRead(bytes.subarray(start, end)));
        if (source.head) {
          const changed = withHead(source, Buffer.concat([Buffer.from('X-Added: 1\r\n'), source.head]));
          const all = changed.bytes();
          const [s2, e2] = [a % (all.length + 1), b % (all.length + 1)].sort((x, y) => x - y) as [number, number];
          expect(await joined(textPieces(changed, s2, e2, bareLf, piece))).toBe(asRead(all.subarray(s2, e2)));
        }
        await source.dispose();
      }),
      { numRuns: 300 },
    );
  });

  it('gives a lone LF its CR across the end of a read, and no second CR after a CR', () => {
    expect(withCrlf('\na\nb\r\n', false)).toBe('\r\na\r\nb\r\n');
    expect(withCrlf('\na', true)).toBe('\na');
    expect(withCrlf('\n\n', false)).toBe('\r\n\r\n');
  });
});
