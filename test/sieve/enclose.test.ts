/**
 * RFC 5703 section 6: enclose wraps the message so far in a new one, which
 * later tests read and later actions deliver.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseHeaderField } from '../../src/sieve/extensions/enclose.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { readMimeTree, walkParts } from '../../src/sieve/runtime/mime.js';
import type { SieveHost } from '../../src/sieve/runtime/host.js';
import { errorsOf, MESSAGE, run } from './helpers.js';

const host: SieveHost = { now: () => new Date(Date.UTC(2024, 0, 1, 12)), environment: (n) => (n === 'domain' ? 'mx.example.org' : undefined) };

describe('enclose (RFC 5703 6)', () => {
  it('makes a multipart/mixed message: the text, then the original as message/rfc822', async () => {
    const r = await run('require "enclose"; enclose "This message looked dangerous\nand was enclosed.";', { host });
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => a.type)).toEqual(['enclose']);
    expect(r.implicitKeep).toBe(true);
    const m = r.runtime.message!;
    const fields = Object.fromEntries(m.headers.map((h) => [h.lname, h.value.trim()]));
    expect(fields['subject']).toBe('=?utf-8?q?H=C3=A9llo?= world');
    expect(fields['from']).toBe('postmaster@mx.example.org');
    expect(fields['date']).toBe('Mon, 1 Jan 2024 12:00:00 +0000');
    expect(fields['content-type']).toMatch(/^multipart\/mixed; boundary="enclose-[0-9a-f]{24}"$/);
    const parts = Array.from(walkParts(await readMimeTree(m)));
    expect(parts.map((p) => p.type)).toEqual(['multipart/mixed', 'text/plain', 'message/rfc822', 'text/plain']);
    expect(parts[1]!.body).toBe('This message looked dangerous\r\nand was enclosed.');
    expect(parts[2]!.body).toBe(parseMessage(MESSAGE).raw.replace(/\r\n$/, ''));
  });

  it('takes :subject and :headers, which replace generated fields', async () => {
    const r = await run('require ["enclose", "variables"]; set "s" "Quarantined"; enclose :subject "${s}" :headers ["From: Security <sec@example.org>", "X-Quarantine: yes"] "See attached.";', { host });
    const m = r.runtime.message!;
    const get = (n: string) => m.headers.filter((h) => h.lname === n).map((h) => h.value.trim());
    expect([get('subject'), get('from'), get('x-quarantine')]).toEqual([['Quarantined'], ['Security <sec@example.org>'], ['yes']]);
  });

  it('changes what later tests read and what keep delivers', async () => {
    const r = await run('require ["enclose", "mime"]; enclose "x"; if header :mime :type "content-type" "multipart" { keep; }', { host });
    expect(r.actions.map((a) => a.type)).toEqual(['enclose', 'keep']);
    expect(r.actions[1]!.message!.raw).toBe(r.runtime.message!.raw);
    expect(r.actions[0]!.message!.raw).toBe(parseMessage(MESSAGE).raw);
  });

  it('encloses the enclosed message when used twice', async () => {
    const r = await run('require "enclose"; enclose :subject "one" "1"; enclose :subject "two" "2";', { host });
    const types = Array.from(walkParts(await readMimeTree(r.runtime.message!))).map((p) => p.type);
    expect(types).toEqual(['multipart/mixed', 'text/plain', 'message/rfc822', 'multipart/mixed', 'text/plain', 'message/rfc822', 'text/plain']);
  });

  it('copies the fields :headers names from the old message, all occurrences as written (RFC 5703 6)', async () => {
    const r = await run('require "enclose"; enclose :headers ["from", "X-Count", "X-Absent"] "x";', { host });
    const m = r.runtime.message!;
    const get = (n: string) => m.headers.filter((h) => h.lname === n).map((h) => h.raw);
    expect(get('from')).toEqual(['From: "Joe Sender" <joe@example.com>']);
    expect(get('x-count')).toEqual(['X-Count: 7']);
    expect(get('x-absent')).toEqual([]);
    // Date is still synthesized: :headers did not name it.
    expect(get('date')).toEqual(['Date: Mon, 1 Jan 2024 12:00:00 +0000']);
  });

  it('synthesizes From as the user running the script when the host names one (RFC 5703 6)', async () => {
    const r = await run('require "enclose"; enclose "x";', { host: { ...host, setting: (n) => (n === 'sieve_user_email' ? 'alice@example.org' : undefined) } });
    expect(r.runtime.message!.headers.find((h) => h.lname === 'from')!.value.trim()).toBe('alice@example.org');
  });

  it('does not change what a redirect forwards, before or after a second enclose (RFC 5703 6)', async () => {
    const r = await run('require ["enclose", "editheader"]; addheader "X-Seen" "1"; enclose "x"; redirect "a@example.net"; enclose "y"; redirect "b@example.net"; keep;', { host });
    expect(r.actions.map((a) => a.type)).toEqual(['enclose', 'redirect', 'enclose', 'redirect', 'keep']);
    const [, ra, , rb, keep] = r.actions;
    expect(ra!.message!.raw).toMatch(/^X-Seen: 1\r\nFrom: "Joe Sender"/);
    expect(rb!.message!.raw).toBe(ra!.message!.raw);
    expect(ra!.data).toEqual({ forward: ra!.message!.raw });
    expect(keep!.message!.raw).toBe(r.runtime.message!.raw);
    expect(keep!.message!.raw).toMatch(/^Subject: /);
  });

  it('refuses a :headers item that is neither a field name nor "Name: value"', async () => {
    expect(errorsOf('require "enclose"; enclose :headers "no colon here" "x";')).toEqual([`enclose :headers: 'no colon here' is neither a header field name nor a field ("Name: value")`]);
    const r = await run('require ["enclose", "variables"]; set "h" "Bad\nX: y"; enclose :headers "${h}" "x";', { host });
    expect(r.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^enclose :headers: 'Bad\r?\nX: y' is neither/)]);
  });

  it('needs a message', () => {
    expect(errorsOf('require "enclose"; enclose "x";', { hasMessage: false })).toHaveLength(1);
  });
});

describe('header fields for :headers', () => {
  it('never throw, and a parsed field has a name without colon or space', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const f = parseHeaderField(s);
        if (f) expect(f.name).toMatch(/^[^:\s]+$/);
      }),
    );
  });
});
