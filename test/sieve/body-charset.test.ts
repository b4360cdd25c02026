/**
 * `body :text` reads a part in the charset its Content-Type names
 * (RFC 5173 section 5.2, src/sieve/runtime/charset.ts): windows-1252 by
 * its own table, where Outlook's quotation marks and the euro sign live at
 * 0x80-0x9F, and ISO-8859-1 as windows-1252, as the WHATWG Encoding
 * Standard, mail readers and libmime (for encoded words) read it.
 */
import { describe, expect, it } from 'vitest';
import { run } from './helpers.js';

const message = (charset: string) =>
  ['From: a@example.org', 'To: b@example.org', 'Subject: price', 'MIME-Version: 1.0', `Content-Type: text/plain; charset=${charset}`, 'Content-Transfer-Encoding: quoted-printable', '', 'It costs 5=80, =93no more=94.', ''].join('\r\n');

const matches = async (charset: string, key: string) => {
  const r = await run(`require ["body", "fileinto"]; if body :text :contains ${JSON.stringify(key)} { fileinto "found"; }`, { message: message(charset) });
  expect(r.errors).toEqual([]);
  return r.actions.some((a) => 'target' in a && a.target === 'found');
};

describe('body :text in a single-octet charset', () => {
  it('reads windows-1252 by its table', async () => {
    expect(await matches('windows-1252', '5€')).toBe(true);
    expect(await matches('"Windows-1252"', '“no more”')).toBe(true);
  });

  it('reads ISO-8859-1 as windows-1252', async () => {
    expect(await matches('iso-8859-1', '5€')).toBe(true);
    expect(await matches('ISO-8859-1', '5\u0080')).toBe(false);
  });
});
