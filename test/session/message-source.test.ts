/**
 * A message received in chunks, kept in memory or spooled to a file
 * (incoming-message.ts), reads the same to a script as the whole message
 * parsed at once (parseMessage): the same header fields, body, raw text,
 * size and hasBody, whatever the chunking and the line ends.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncomingMessage } from '../../src/frontdoors/incoming-message.js';
import { bufferSource, type MessageMemory, MessageMemoryRefused, sieveView, withHead } from '../../src/session/message-source.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { type MimePart, readMimeTree } from '../../src/sieve/runtime/mime.js';
import { plainFields } from '../helpers/header-fields.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-incoming-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A budget that counts what is held, with a limit. */
function budget(limit = Infinity): MessageMemory & { held: number } {
  const m = {
    held: 0,
    reserve: (n: number) => (m.held + n > limit ? false : ((m.held += n), true)),
    release: (n: number) => void (m.held -= n),
  };
  return m;
}

const eol = fc.constantFrom('\r\n', '\n', '\r\r\n');
const text = fc.string({ unit: fc.constantFrom('a', 'b', ' ', '\t', ':', 'é', '€', '\r', '-', '='), maxLength: 30 });
const field = fc.tuple(fc.constantFrom('Subject', 'From', 'X-A', 'bad name', ''), text, eol, fc.boolean(), text, eol).map(([n, v, e1, folded, more, e2]) => `${n}:${v}${e1}${folded ? ` ${more}${e2}` : ''}`);
/** Header fields, perhaps an empty line (CRLF, LF or CR LF), perhaps a body. */
const message = fc
  .tuple(fc.array(field, { maxLength: 6 }), fc.option(eol, { nil: undefined }), fc.array(fc.tuple(text, eol).map(([t, e]) => t + e), { maxLength: 8 }))
  .map(([fields, blank, body]) => Buffer.from(`${fields.join('')}${blank ?? ''}${blank === undefined ? '' : body.join('')}`, 'utf8'));

function chunked(buf: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, buf.length]) {
    if (c > from) out.push(buf.subarray(from, c));
    from = Math.max(from, c);
  }
  return out;
}

async function receive(chunks: Buffer[], inMemoryLimit: number, memory = budget()) {
  const incoming = new IncomingMessage({ dir, inMemoryLimit, memory });
  for (const c of chunks) if (!incoming.write(c)) await incoming.drained();
  return incoming.finish();
}

describe('a received message as scripts read it', () => {
  it('spooled or in memory, in any chunks, reads as parseMessage reads the whole', async () => {
    await fc.assert(
      fc.asyncProperty(message, fc.array(fc.nat(), { maxLength: 5 }), fc.constantFrom(0, 7, Infinity), async (buf, cuts, limit) => {
        const source = await receive(chunked(buf, cuts), limit);
        try {
          expect(source.bytes().equals(buf)).toBe(true);
          expect(source.path !== undefined).toBe(buf.length > limit);
          const expected = parseMessage(buf.toString('utf8'));
          const view = sieveView(source);
          expect(plainFields(view.headers)).toEqual(plainFields(expected.headers));
          expect(view.hasBody).toBe(expected.hasBody);
          expect(view.size).toBe(expected.size);
          expect(view.body).toBe(expected.body);
          expect(view.raw).toBe(expected.raw);
        } finally {
          await source.dispose();
        }
      }),
      { numRuns: 300 },
    );
    expect(await readdir(dir)).toEqual([]);
  });

  it('reads header fields of a spooled message without reading the file', async () => {
    const body = 'x'.repeat(1 << 20);
    const source = await receive([Buffer.from(`Subject: big\r\nFrom: a@b.test\r\n\r\n${body}`)], 1024);
    let reads = 0;
    const counting = { ...source, bytes: () => (reads++, source.bytes()) };
    const view = sieveView(counting);
    expect(view.headers.map((h) => h.name)).toEqual(['Subject', 'From']);
    expect(view.size).toBe(source.size);
    expect(reads).toBe(0);
    expect(view.body).toBe(body);
    expect(reads).toBe(1);
    await source.dispose();
  });

  it('holds a spooled message read whole against the budget, and refuses past it', async () => {
    const memory = budget(1_100_000);
    const source = await receive([Buffer.alloc(500_000, 'a')], 1024, memory);
    expect(memory.held).toBe(0);
    expect(source.bytes().length).toBe(500_000);
    expect(memory.held).toBe(500_000);
    // Its text, as a script reads it, counts too.
    expect(source.text().length).toBe(500_000);
    expect(memory.held).toBe(1_000_000);
    await source.dispose();
    expect(memory.held).toBe(0);
    const tooBig = await receive([Buffer.alloc(700_000, 'a')], 1024, memory);
    expect(tooBig.bytes().length).toBe(700_000);
    expect(() => tooBig.text()).toThrow(MessageMemoryRefused);
    await tooBig.dispose();
    expect(memory.held).toBe(0);
  });

  it('keeps a small message in memory, held against the budget until disposed', async () => {
    const memory = budget();
    const source = await receive([Buffer.from('Subject: a\r\n\r\nhi\r\n')], 1024, memory);
    expect(source.path).toBeUndefined();
    expect(memory.held).toBe(source.size);
    await source.dispose();
    expect(memory.held).toBe(0);
    expect(bufferSource(Buffer.from('Subject: a\n\nb')).crlfSize).toBe(15);
  });
});

/** What a script reads of a part tree. */
const shape = (p: MimePart): unknown => ({
  headers: p.headers.map((h) => h.raw),
  type: p.type,
  body: p.body,
  preamble: p.preamble,
  epilogue: p.epilogue,
  children: p.children.map(shape),
  embedded: p.embedded && { header: p.embedded.header, root: shape(p.embedded.root) },
});

describe('the MIME structure of a received message', () => {
  const line = fc.constantFrom('--b', '--b--', '--c', 'Content-Type: text/plain', 'Content-Type: multipart/mixed; boundary=c', 'Content-Type: message/rfc822', 'X-A: é', 'text €', '');
  const multipart = fc
    .tuple(fc.array(fc.tuple(line, eol).map(([l, e]) => l + e), { maxLength: 20 }), eol)
    .map(([lines, e]) => Buffer.from(`Subject: m${e}Content-Type: multipart/mixed; boundary=b${e}${e}${lines.join('')}`, 'utf8'));

  it('spooled or in memory, in any chunks and line ends, has the tree of the whole text', async () => {
    await fc.assert(
      fc.asyncProperty(multipart, fc.array(fc.nat(), { maxLength: 5 }), fc.constantFrom(0, Infinity), async (buf, cuts, limit) => {
        const source = await receive(chunked(buf, cuts), limit);
        try {
          const view = sieveView(source);
          expect(view.octets).toBeDefined();
          expect(shape(await readMimeTree(view))).toEqual(shape(await readMimeTree(parseMessage(buf.toString('utf8')))));
        } finally {
          await source.dispose();
        }
      }),
      { numRuns: 150 },
    );
  });

  it('reads the parts of a spooled message, and a small body, from the file without loading the message', async () => {
    const big = 'x'.repeat(200_000);
    const text = ['Subject: parts', 'Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', 'small', '--b', 'Content-Type: application/zip; name=a.zip', '', big, '--b--', ''].join('\r\n');
    const source = await receive([Buffer.from(text)], 1024);
    let reads = 0;
    const counting = { ...source, bytes: () => (reads++, source.bytes()) };
    const tree = await readMimeTree(sieveView(counting));
    expect(tree.children.map((c) => c.params.name)).toEqual([undefined, 'a.zip']);
    expect(tree.children[0]!.body).toBe('small');
    expect(reads).toBe(0);
    // A large body is read with the message, held against the memory budget.
    expect(tree.children[1]!.body).toBe(big);
    expect(reads).toBe(1);
    await source.dispose();
  });

  it('reads the tree of a message with a new header section over the same spooled body', async () => {
    const text = 'Subject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\n';
    const source = await receive([Buffer.from(text)], 0);
    const head = Buffer.from('Received: by x\r\nSubject: a\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n');
    const edited = withHead(source, head);
    const tree = await readMimeTree(sieveView(edited));
    expect(tree.headers.map((h) => h.name)).toEqual(['Received', 'Subject', 'Content-Type']);
    expect(tree.children.map((c) => c.body)).toEqual(['one', 'two']);
    await source.dispose();
  });
});
