/**
 * RFC 5703 section 5: replace, of the whole message or, inside
 * foreverypart, of the current MIME part.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { readMimeTree, walkParts } from '../../src/sieve/runtime/mime.js';
import { serializePart } from '../../src/sieve/runtime/mime-replaced.js';
import { errorsOf, MESSAGE, run } from './helpers.js';

const MULTI = [
  'From: a@example.com',
  'Subject: parts',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary=outer',
  '',
  'preamble',
  '--outer',
  'Content-Type: text/plain',
  '',
  'hello',
  '--outer',
  'Content-Type: application/x-msdownload; name=evil.exe',
  'Content-Transfer-Encoding: base64',
  '',
  'TVqQAAMAAAAEAAAA',
  '--outer',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain',
  '',
  'a',
  '--inner',
  'Content-Type: text/html',
  '',
  '<p>a</p>',
  '--inner--',
  '--outer--',
  '',
].join('\r\n');

const header = (raw: string, name: string) => parseMessage(raw).headers.filter((h) => h.lname === name).map((h) => h.value.trim());

describe('replace of the whole message (RFC 5703 5)', () => {
  it('puts a text/plain body in place, keeping the other fields', async () => {
    const r = await run('require "replace"; replace "The message was removed.";');
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => a.type)).toEqual(['replace']);
    expect(r.implicitKeep).toBe(true);
    const m = r.runtime.message!;
    expect(m.body).toBe('The message was removed.');
    expect(header(m.raw, 'content-type')).toEqual(['text/plain; charset=utf-8']);
    expect(header(m.raw, 'to')).toEqual(header(MESSAGE, 'to'));
    expect(r.actions[0]!.message!.raw).toBe(parseMessage(MESSAGE).raw);
  });

  it('keeps the old Subject and From as Original-Subject and Original-From', async () => {
    const r = await run('require "replace"; replace :subject "Removed" :from "Policy <policy@example.org>" "x";');
    const raw = r.runtime.message!.raw;
    expect([header(raw, 'subject'), header(raw, 'original-subject')]).toEqual([['Removed'], header(MESSAGE, 'subject')]);
    expect([header(raw, 'from'), header(raw, 'original-from')]).toEqual([['Policy <policy@example.org>'], header(MESSAGE, 'from')]);
  });

  it('takes a MIME entity with :mime, and refuses a constant :from that is no address', async () => {
    const r = await run('require "replace"; replace :mime "Content-Type: text/html\n\n<p>gone</p>";');
    expect(header(r.runtime.message!.raw, 'content-type')).toEqual(['text/html']);
    expect(r.runtime.message!.body).toBe('<p>gone</p>');
    expect(errorsOf('require "replace"; replace :from "not an address" "x";')).toEqual([`replace :from: 'not an address' is not a valid mailbox list`]);
    const ignored = await run('require ["replace", "variables"]; set "f" "nobody"; replace :from "${f}" "x";');
    expect(header(ignored.runtime.message!.raw, 'from')).toEqual(header(MESSAGE, 'from'));
  });
});

describe('replace inside foreverypart (RFC 5703 5)', () => {
  it('replaces the current part and leaves the rest as it was', async () => {
    const script = 'require ["foreverypart", "mime", "replace"]; foreverypart { if header :mime :param "name" :matches "content-type" "*.exe" { replace "Attachment removed."; } }';
    const r = await run(script, { message: MULTI });
    expect(r.errors).toEqual([]);
    const parts = Array.from(walkParts(await readMimeTree(r.runtime.message!)));
    expect(parts.map((p) => p.type)).toEqual(['multipart/mixed', 'text/plain', 'text/plain', 'multipart/alternative', 'text/plain', 'text/html']);
    expect(parts[2]!.body).toBe('Attachment removed.');
    expect(r.runtime.message!.raw).toBe(MULTI.replace('Content-Type: application/x-msdownload; name=evil.exe\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA', 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nAttachment removed.'));
  });

  it('does not go into a multipart part it replaced, and replaces several parts in one loop', async () => {
    const script = 'require ["foreverypart", "mime", "replace", "variables"]; set "seen" ""; foreverypart { if header :mime :type "content-type" "multipart" { if header :mime :subtype "content-type" "alternative" { replace "alt gone"; } } elsif header :mime :subtype "content-type" "x-msdownload" { replace "exe gone"; } else { set "seen" "${seen}+"; } }';
    const r = await run(script, { message: MULTI });
    expect(r.errors).toEqual([]);
    const parts = Array.from(walkParts(await readMimeTree(r.runtime.message!)));
    expect(parts.map((p) => p.body)).toEqual([expect.any(String), 'hello', 'exe gone', 'alt gone']);
    // Only the first text part was visited as "other": the alternative's children were skipped.
    expect(r.runtime.variable('seen', undefined)).toBe('+');
  });

  it('writes an untouched tree back as it was read', async () => {
    const m = parseMessage(MULTI);
    expect(serializePart(await readMimeTree(m), new Map())).toBe(m.raw);
  });

  it('writes any well-formed multipart message back as it was read', async () => {
    const line = fc.stringMatching(/^[a-z0-9 .<>=]{0,20}$/);
    const body = fc.array(line, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('\r\n'));
    const message = fc.record({ pre: fc.option(body), parts: fc.array(body, { minLength: 1, maxLength: 4 }), post: fc.option(body) }).map(({ pre, parts, post }) =>
      ['Subject: x', 'Content-Type: multipart/mixed; boundary=b0', '', ...(pre === null ? [] : [pre]), ...parts.flatMap((p) => ['--b0', 'Content-Type: text/plain', '', p]), '--b0--', ...(post === null ? [] : [post])].join('\r\n'),
    );
    await fc.assert(
      fc.asyncProperty(message, async (text) => {
        const m = parseMessage(text);
        expect(serializePart(await readMimeTree(m), new Map())).toBe(m.raw);
      }),
    );
  });
});
