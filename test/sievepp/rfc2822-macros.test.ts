/**
 * Momentum's `%{rfc2822:...}` macros (sieve-ecaddons.md, "Macros"), each
 * spelling the page lists, over a plain message and a MIME one; and the
 * documented example that quotes the header section in a report (112).
 */
import fc from 'fast-check';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startConfig } from '../helpers/config-server.js';
import { freePort } from '../helpers/free-port.js';
import { sendMail } from '../helpers/server-fixture.js';
import { RawSmtpClient } from '../helpers/smtp-client.js';
import { firstLines, firstOctets } from '../../src/sievepp/rfc2822-macros.js';
import { toStr } from '../../src/sievepp/values.js';
import { valueOf } from './helpers.js';

const PLAIN = 'From: a@example.com\r\nSubject: hi\r\n\r\nline one\r\nline two\r\nline three\r\n';
const MIXED = [
  'From: a@example.com',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  'preamble',
  '--b1',
  'Content-Type: image/png',
  'Content-Transfer-Encoding: base64',
  '',
  'iVBORw0KGgo=',
  '--b1',
  'Content-Type: multipart/alternative; boundary="b2"',
  '',
  '--b2',
  'Content-Type: text/plain; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=FC=DFe',
  'zweite Zeile',
  '--b2',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>hello</p>',
  '--b2--',
  '--b1--',
  '',
].join('\r\n');

async function macro(spec: string, message: string): Promise<string> {
  return toStr(await valueOf(`$v = "%{rfc2822:${spec}}";`, 'v', { message, phase: 'data' }));
}

describe('%{rfc2822:...} over a message that is not MIME', () => {
  it('message, its first lines and octets', async () => {
    expect(await macro('message', PLAIN)).toBe(PLAIN);
    expect(await macro('message,2', PLAIN)).toBe('From: a@example.com\r\nSubject: hi\r\n');
    expect(await macro('message,4b', PLAIN)).toBe('From');
  });

  it('headers and body', async () => {
    expect(await macro('headers', PLAIN)).toBe('From: a@example.com\r\nSubject: hi\r\n');
    expect(await macro('body', PLAIN)).toBe('line one\r\nline two\r\nline three\r\n');
    expect(await macro('body,1', PLAIN)).toBe('line one\r\n');
    expect(await macro('body, 6b', PLAIN)).toBe('line o');
  });

  it('is one part, its text the body', async () => {
    expect(await macro('text', PLAIN)).toBe('line one\r\nline two\r\nline three\r\n');
    expect(await macro('part,1', PLAIN)).toBe(PLAIN);
    expect(await macro('text,1', PLAIN)).toBe(PLAIN);
    expect(await macro('text,1,2', PLAIN)).toBe('line one\r\nline two\r\n');
    expect(await macro('part,2', PLAIN)).toBe('');
  });
});

describe('%{rfc2822:...} over a MIME message', () => {
  it('counts leaf parts from 1 in the order written', async () => {
    expect(await macro('part,1', MIXED)).toBe('Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=');
    expect(await macro('part,3', MIXED)).toBe('Content-Type: text/html; charset=utf-8\r\n\r\n<p>hello</p>');
    expect(await macro('part,0', MIXED)).toBe('');
    expect(await macro('part,4', MIXED)).toBe('');
  });

  it('text: the first text part decoded to UTF-8; text,N as written; text,N,M decoded lines', async () => {
    expect(await macro('text', MIXED)).toBe('Grüße\r\nzweite Zeile');
    expect(await macro('text,1', MIXED)).toBe('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nGr=FC=DFe\r\nzweite Zeile');
    expect(await macro('text,2', MIXED)).toBe('Content-Type: text/html; charset=utf-8\r\n\r\n<p>hello</p>');
    expect(await macro('text,1,1', MIXED)).toBe('Grüße\r\n');
    expect(await macro('text,3', MIXED)).toBe('');
  });

  it('keeps a spelling the page does not list as written', async () => {
    expect(await macro('attachments', MIXED)).toBe('%{rfc2822:attachments}');
    expect(await macro('body,x', MIXED)).toBe('%{rfc2822:body,x}');
  });
});

it('reads empty where there is no message', async () => {
  expect(toStr(await valueOf('$v = "[%{rfc2822:headers}]";', 'v', { message: null, phase: 'mailfrom' }))).toBe('[]');
});

describe('line and octet cuts', () => {
  it('never cuts a character in two', () => {
    expect(firstOctets('aü', 2)).toBe('a');
    expect(firstOctets('aü', 3)).toBe('aü');
    expect(firstOctets('€x', 2)).toBe('');
  });
  it('keeps line ends and stops at the text end', () => {
    expect(firstLines('a\r\nb\r\nc', 2)).toBe('a\r\nb\r\n');
    expect(firstLines('a\r\nb', 5)).toBe('a\r\nb');
    expect(firstLines('a\r\nb', 0)).toBe('');
  });
});

describe('%{rfc2822:...} in the server, over a message spooled to disk as it arrived', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  it('reads the message and its parts from the spool file, brought in before the run', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-rfc2822-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // Past the 16 KiB threshold: the session's message is a file the run reads only once loaded (docs/server.md, "Messages on disk").
    const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${'z'.repeat(20)}`).join('\r\n');
    const message = `From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\nxx\r\n--b\r\nContent-Type: text/plain\r\n\r\n${lines}\r\n--b--\r\n`;
    await writeFile(join(dir, 'data.siv'), [
      '$body = "%{rfc2822:body,3b}"; $text = "%{rfc2822:text,1,1}"; $part = "%{rfc2822:part,2}"; $first = "%{rfc2822:message,1}";',
      'if allof (ec_test :is "${body}" "--b", ec_test :matches "${text}" "line 0 zzzzzzzzzzzzzzzzzzzz?*",',
      '          ec_test :contains "${part}" "line 99 ", ec_test :matches "${first}" "From: a@example.com?*") {',
      '  fileinto "Quoted";',
      '}',
    ].join('\n'));
    const port = await freePort();
    await writeFile(join(dir, 'test.conf'), `spool_dir = "spool"\nESMTP_Listener { Listen "127.0.0.1:${port}" { } message_spool_threshold = 16k }\nsieve "s" { script "data_phase1" { source = "data.siv" } }\n`);
    const running = await startConfig(join(dir, 'test.conf'), cleanups);
    expect(running).toBeTruthy();
    const c = await RawSmtpClient.open(port);
    const r = await sendMail(c, 'a@example.com', ['bob@here.test'], `${message}`);
    c.close();
    expect(r.end?.code).toBe(250);
    expect(await readdir(join(dir, 'spool', '.Quoted', 'new'))).toHaveLength(1);
  });
});

describe('line and octet cuts, for any text', () => {
  it('firstOctets is the longest prefix of at most N octets in UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.nat(120), (text, n) => {
        const cut = firstOctets(text, n);
        expect(text.startsWith(cut)).toBe(true);
        expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(n);
        // One more code point would not fit.
        const next = String.fromCodePoint(text.codePointAt(cut.length) ?? 0);
        if (cut.length < text.length) expect(Buffer.byteLength(cut + next)).toBeGreaterThan(n);
      }),
    );
  });
  it('firstLines holds at most N line ends and ends with one unless it is the whole text', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', '\r', '\n', '\r\n'), { maxLength: 30 }).map((a) => a.join('')), fc.nat(8), (text, n) => {
        const cut = firstLines(text, n);
        expect(text.startsWith(cut)).toBe(true);
        expect(cut.split('\n').length - 1).toBeLessThanOrEqual(n);
        if (cut !== text) expect(cut === '' || cut.endsWith('\n')).toBe(true);
      }),
    );
  });
});
