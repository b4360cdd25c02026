/**
 * The opendkim module's own signing reads the From field from the header
 * section alone (src/session/dkim-auto.ts): a body line that looks like a
 * field is not read, whatever the line ends.
 */
import { expect, it } from 'vitest';
import { headerFields } from '../../src/session/dkim-auto.js';

it('parses the header section only, with CRLF or bare LF line ends', () => {
  const body = `From: body@not.this\r\n${'x'.repeat(1000)}\r\n`;
  const crlf = Buffer.from(`Subject: s\r\nFrom: Joe <joe@example.org>\r\n\r\n${body}`);
  expect(headerFields(crlf).map((h) => [h.lname, h.value.trim()])).toEqual([['subject', 's'], ['from', 'Joe <joe@example.org>']]);
  const lf = Buffer.from(`From: joe@example.org\nSubject: s\n\n${body}`);
  expect(headerFields(lf).map((h) => h.lname)).toEqual(['from', 'subject']);
  // A header section with no body after it.
  expect(headerFields(Buffer.from('From: joe@example.org\r\n')).map((h) => h.lname)).toEqual(['from']);
});
