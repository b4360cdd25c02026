/**
 * A body test that reads a spooled body in pieces (`body :raw :contains`,
 * and `body :contains` or `:content` on a large leaf, and the same with
 * `:matches "*text*"`, `"*text*more*"`, `"start*more*"` or `"*t?xt*end"`, and
 * `:regex` of short matches in windows), its text read as it
 * is or decoded as it is read: docs/server.md, "Messages on disk") answers
 * as the same test over the message in memory, for any message of one
 * part or of several (types, transfer encodings, bodies encoded or not,
 * charsets, a byte order mark, bare LFs, invalid UTF-8), any keys and
 * comparator.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncomingMessage } from '../../src/frontdoors/incoming-message.js';
import { bufferSource, type MessageSource, sieveView } from '../../src/session/message-source.js';
import { execute } from '../../src/sieve/interpreter.js';
import { compileSieve } from '../../src/sieve/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-body-pieces-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function spooled(message: Buffer): Promise<MessageSource> {
  const incoming = new IncomingMessage({ dir, inMemoryLimit: 0, memory: { reserve: () => true, release: () => {} } });
  incoming.write(message);
  return incoming.finish();
}

async function verdict(script: string, source: MessageSource): Promise<string> {
  const r = compileSieve(script, { file: 'data.siv' });
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  const result = await execute(r.script!, { message: sieveView(source), envelope: { from: 'a@sender.test', to: ['b@here.test'] } }, {}, {});
  expect(result.errors.map((e) => e.message)).toEqual([]);
  return result.actions.map((a) => a.def.type).join();
}

const sieveString = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const words = fc.constantFrom('spam', 'SPAM', 'Grüße', '€', 'line\r\nnext', 'é', '<b>bold</b>', '\uFEFFbom', 'x', 'ΑΣ', 'e\u0301', 'ﬁ');
const body = fc.array(fc.oneof(words, fc.constantFrom(' ', '\r\n', '\n', '\uFEFF')), { maxLength: 40 }).map((ws) => ws.join(''));
const head = fc.record({
  type: fc.constantFrom(undefined, 'text/plain', 'text/html', 'TEXT/Plain; charset="UTF-8"', 'text/plain; charset=us-ascii', 'text/plain; charset=iso-8859-1', 'application/octet-stream', 'multipart/mixed; boundary=b', 'message/rfc822'),
  encoding: fc.constantFrom(undefined, '7bit', '8bit', 'base64', 'quoted-printable', 'x-unknown'),
});

/** A part: its type and encoding, and a body of some words, made past 64 KiB (read in pieces) or not. */
const part = fc.record({ h: head, text: body, large: fc.boolean(), word: words, encoded: fc.boolean() });
const FILLER = `${'filler line of a large part'.repeat(2)}\r\n`;
function partOctets(p: { h: { type?: string; encoding?: string }; text: string; large: boolean; word: string; encoded: boolean }): Buffer {
  const type = p.h.type?.startsWith('multipart/') || p.h.type === 'message/rfc822' ? 'text/plain' : p.h.type;
  const lines = [...(type ? [`Content-Type: ${type}`] : []), ...(p.h.encoding ? [`Content-Transfer-Encoding: ${p.h.encoding}`] : []), '', ''];
  // A large part has its word at the start, in the middle of a read, and the end.
  const text = p.large ? `${p.word}${FILLER.repeat(700)}${p.word}${FILLER.repeat(700)}${p.text}${p.word}` : p.text;
  // Encoded as its header says, or (as a sender may) not.
  return Buffer.concat([Buffer.from(lines.join('\r\n')), p.encoded ? encoded(text, p.h.encoding) : Buffer.from(text)]);
}

/** `text` in base64 or quoted-printable (lines of 76, soft line breaks), as it is for any other encoding. */
function encoded(text: string, encoding: string | undefined): Buffer {
  const octets = Buffer.from(text);
  if (encoding === 'base64') return Buffer.from(octets.toString('base64').replace(/.{76}/g, '$&\r\n'));
  if (encoding !== 'quoted-printable') return octets;
  let out = '';
  let line = 0;
  for (const o of octets) {
    const c = o === 0x3d || o > 0x7e || (o < 0x20 && o !== 0x0d && o !== 0x0a) ? `=${o.toString(16).toUpperCase().padStart(2, '0')}` : String.fromCharCode(o);
    if (line + c.length > 75) {
      out += '=\r\n';
      line = 0;
    }
    out += c;
    line = c === '\n' ? 0 : line + c.length;
  }
  return Buffer.from(out);
}

describe('body tests reading a spooled body in pieces', () => {
  it('answer as the same test over the message in memory, for the parts of a multipart message', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 3 }), fc.array(words, { minLength: 1, maxLength: 3 }), fc.constantFrom(':text', '', ':content "text"', ':content "text/plain"', ':content ""', ':content "application"'), fc.constantFrom('', ':comparator "i;octet"'), fc.boolean(), fc.constantFrom('contains', 'one text', 'texts in order', 'a start, then texts', 'a `?` and an end', 'a short regex'), async (parts, few, transform, comparator, many, form) => {
        // Many keys: the pieces are matched in windows, as a value in memory.
        const keys = many ? [...few, ...Array.from({ length: 20 }, (_, i) => `no key ${i}`)] : few;
        const message = Buffer.concat([
          Buffer.from('From: a@sender.test\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\npreamble\r\n'),
          ...parts.flatMap((p) => [Buffer.from('--b\r\n'), partOctets(p), Buffer.from('\r\n')]),
          Buffer.from('--b--\r\nepilogue\r\n'),
        ]);
        // :matches "*text*" is a substring test too (RFC 5228 2.7.1), and "*text*more*" or "start*more*" a search for texts in order.
        // A `?` for a key's second character, and the key's last text at the value's end.
        const globs =
          form === 'one text'
            ? keys.map((k) => `*${k}*`)
            : form === 'a `?` and an end'
              ? keys.map((k, i) => `*${k.slice(0, 1)}?${k.slice(2)}*${keys[(i + 1) % keys.length]}`)
              : keys.map((k, i) => `${form === 'texts in order' ? '*' : ''}${k}*${keys[(i + 1) % keys.length]}*`);
        // A :regex of short matches (a word, at a word's edge) is matched in windows of each part as it is read.
        const regexes = keys.map((k) => `\\b${k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
        const test =
          form === 'contains' ? `:contains [${keys.map(sieveString).join(', ')}]` : form === 'a short regex' ? `:regex [${regexes.map(sieveString).join(', ')}]` : `:matches [${globs.map(sieveString).join(', ')}]`;
        const script = `require ["body", "regex"]; if body ${transform} ${comparator} ${test} { discard; }`;
        const inMemory = await verdict(script, bufferSource(message));
        const source = await spooled(message);
        expect(await verdict(script, source)).toBe(inMemory);
        await source.dispose();
      }),
      { numRuns: 150 },
    );
  });

  it('answer as the same test over the message in memory', async () => {
    await fc.assert(
      fc.asyncProperty(head, body, fc.array(words, { minLength: 1, maxLength: 3 }), fc.constantFrom(':raw', ':text', '', ':content "text"', ':content "text/plain"', ':content ""'), fc.constantFrom('', ':comparator "i;octet"', ':comparator "i;ascii-casemap"', ':comparator "i;unicode-casemap"'), fc.boolean(), fc.boolean(), async (h, text, keys, transform, comparator, invalid, inOrder) => {
        const lines = ['From: a@sender.test', ...(h.type ? [`Content-Type: ${h.type}`] : []), ...(h.encoding ? [`Content-Transfer-Encoding: ${h.encoding}`] : []), '', ''];
        const message = Buffer.concat([Buffer.from(lines.join('\r\n')), Buffer.from(text), invalid ? Buffer.from([0xc3, 0xff]) : Buffer.alloc(0)]);
        const test = inOrder ? `:matches ${sieveString(`*${keys.join('*')}*`)}` : `:contains [${keys.map(sieveString).join(', ')}]`;
        const script = `require ["body", "comparator-i;ascii-numeric", "comparator-i;unicode-casemap"]; if body ${transform} ${comparator} ${test} { discard; }`;
        const inMemory = await verdict(script, bufferSource(message));
        const source = await spooled(message);
        expect(await verdict(script, source)).toBe(inMemory);
        await source.dispose();
      }),
      { numRuns: 400 },
    );
  });
});
