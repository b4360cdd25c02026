import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyHeaderEdits, applyHeaderEditsToOctets, editedMessageOctets, type HeaderEdit } from '../../src/session/header-edits.js';

const msg = 'Subject: hi\r\nX-Count: 1\r\nX-Long: a\r\n b\r\nX-Count: 2\r\n\r\nbody\r\n';

describe('applyHeaderEdits', () => {
  it('adds fields on top, in the order asked', () => {
    expect(applyHeaderEdits(msg, [{ op: 'add', name: 'X-A', value: '1' }, { op: 'add', name: 'X-B', value: '2' }])).toBe(`X-B: 2\r\nX-A: 1\r\n${msg}`);
  });

  it('deletes every field of a name, folded lines included, case-insensitively', () => {
    expect(applyHeaderEdits(msg, [{ op: 'delete', name: 'x-count' }, { op: 'delete', name: 'X-LONG' }])).toBe('Subject: hi\r\n\r\nbody\r\n');
  });

  it('deletes only the fields with the given value', () => {
    expect(applyHeaderEdits(msg, [{ op: 'delete', name: 'X-Count', value: '2' }])).toBe('Subject: hi\r\nX-Count: 1\r\nX-Long: a\r\n b\r\n\r\nbody\r\n');
  });

  it('puts a prefix after the first field\'s colon and white space, a postfix at the end of its last line', () => {
    const edited = applyHeaderEdits(msg, [{ op: 'prefix', name: 'x-count', value: '[a] ' }, { op: 'postfix', name: 'X-Long', value: ' (z)' }, { op: 'prefix', name: 'X-Long', value: '<' }]);
    expect(edited).toBe('Subject: hi\r\nX-Count: [a] 1\r\nX-Long: <a\r\n b (z)\r\nX-Count: 2\r\n\r\nbody\r\n');
  });

  it('prefixes a value that starts on a folded line, and changes nothing for a field that is not there', () => {
    expect(applyHeaderEdits('Subject:\r\n  hi\r\n\r\nb\r\n', [{ op: 'prefix', name: 'Subject', value: '[x] ' }])).toBe('Subject:\r\n  [x] hi\r\n\r\nb\r\n');
    expect(applyHeaderEdits(msg, [{ op: 'prefix', name: 'X-None', value: 'x' }, { op: 'postfix', name: 'X-None', value: 'y' }])).toBe(msg);
  });

  it('folds a long added field at its spaces and encodes a value that is not ASCII, as addheader does (RFC 5322 2.1.1, 2.2.3; RFC 2047)', () => {
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const added = applyHeaderEdits('A: 1\r\n\r\nb\r\n', [{ op: 'add', name: 'X-Long', value: long }, { op: 'add', name: 'X-Name', value: 'Jürgen' }]);
    const header = added.slice(0, added.indexOf('\r\n\r\n'));
    for (const line of header.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(header.replace(/\r\n /g, ' ')).toContain(`X-Long: ${long}`);
    expect(header).toMatch(/^X-Name: =\?utf-8\?Q\?J=C3=BCrgen\?=\r\nX-Long: word0 /i);
  });

  it('folds a field a prefix or postfix made long', () => {
    const tail = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
    const edited = applyHeaderEdits('Subject: short\r\n\r\nb\r\n', [{ op: 'postfix', name: 'Subject', value: ` ${tail}` }]);
    const header = edited.slice(0, edited.indexOf('\r\n\r\n'));
    for (const line of header.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(header.replace(/\r\n /g, ' ')).toBe(`Subject: short ${tail}`);
  });

  it('leaves the body alone, and a message with no edits untouched', () => {
    expect(applyHeaderEdits('A: 1\r\n\r\nX-Count: 3\r\n', [{ op: 'delete', name: 'X-Count' }])).toBe('A: 1\r\n\r\nX-Count: 3\r\n');
    expect(applyHeaderEdits(msg, [])).toBe(msg);
  });
});

// "Grüße" in ISO-8859-1: 0xFC and 0xDF are not UTF-8 on their own.
const latin1Body = Buffer.from('Gr\xfc\xdfe\r\n', 'latin1');
const add: HeaderEdit[] = [{ op: 'add', name: 'X-A', value: '1' }];

describe('applyHeaderEditsToOctets', () => {
  it('edits the header section and keeps an 8-bit body octet for octet', () => {
    const out = applyHeaderEditsToOctets(Buffer.concat([Buffer.from('Subject: hi\r\n\r\n'), latin1Body]), add);
    expect(out.equals(Buffer.concat([Buffer.from('X-A: 1\r\nSubject: hi\r\n\r\n'), latin1Body]))).toBe(true);
  });

  it('splits where the caller says the body starts: a message with bare LF line ends keeps its body too', () => {
    const head = Buffer.from('Subject: hi\n\n');
    const out = applyHeaderEditsToOctets(Buffer.concat([head, latin1Body]), add, head.length);
    expect(out.equals(Buffer.concat([Buffer.from('X-A: 1\r\nSubject: hi\n\n'), latin1Body]))).toBe(true);
  });

  it('a message that starts with its body, and one that is all header, are edited as the text is', () => {
    const bodyOnly = Buffer.concat([Buffer.from('\r\n'), latin1Body]);
    expect(applyHeaderEditsToOctets(bodyOnly, add).equals(Buffer.concat([Buffer.from('X-A: 1\r\n\r\n'), latin1Body]))).toBe(true);
    expect(applyHeaderEditsToOctets(Buffer.from('Subject: hi\r\n'), add).toString()).toBe(applyHeaderEdits('Subject: hi\r\n', add));
  });

  it('gives what applyHeaderEdits gives for a UTF-8 message, and any body back as it was', () => {
    const edit = fc.oneof(
      fc.record({ op: fc.constant<'add'>('add'), name: fc.constantFrom('X-A', 'Subject'), value: fc.string({ maxLength: 90 }) }),
      fc.record({ op: fc.constantFrom<'delete' | 'prefix' | 'postfix'>('delete', 'prefix', 'postfix'), name: fc.constantFrom('x-a', 'Subject', 'To'), value: fc.string({ maxLength: 20 }) }),
    );
    const head = fc.array(fc.tuple(fc.constantFrom('Subject', 'To', 'X-A'), fc.stringMatching(/^[ -~]{0,40}$/)), { maxLength: 5 }).map((fs) => fs.map(([n, v]) => `${n}: ${v}\r\n`).join(''));
    fc.assert(
      fc.property(head, fc.uint8Array({ maxLength: 200 }), fc.array(edit, { maxLength: 4 }), (h, body, edits) => {
        const octets = Buffer.concat([Buffer.from(`${h}\r\n`), body]);
        const out = applyHeaderEditsToOctets(octets, edits);
        const text = applyHeaderEdits(`${h}\r\n`, edits);
        expect(out.subarray(0, Buffer.byteLength(text)).toString('utf8')).toBe(text);
        expect(out.subarray(Buffer.byteLength(text)).equals(body)).toBe(true);
      }),
    );
  });
});

describe('a header section that is not UTF-8 (raw 8-bit octets)', () => {
  // "Grüße" in ISO-8859-1 in a Subject: not allowed by RFC 5322, sent by old mailers all the same.
  const latin1Subject = Buffer.from('Subject: Gr\xfc\xdfe\r\n', 'latin1');

  it('keeps its octets when a field is added', () => {
    const octets = Buffer.concat([latin1Subject, Buffer.from('\r\n'), latin1Body]);
    const out = applyHeaderEditsToOctets(octets, [{ op: 'add', name: 'X-A', value: 'caf\u00e9' }]);
    expect(out.equals(Buffer.concat([Buffer.from('X-A: =?UTF-8?Q?caf=C3=A9?=\r\n'), octets]))).toBe(true);
  });

  it('a prefix goes in as UTF-8 beside the field\'s own octets, and a value to delete is matched as UTF-8', () => {
    const head = Buffer.concat([latin1Subject, Buffer.from('X-Tag: \u00e9t\u00e9\r\n\r\n')]);
    const out = applyHeaderEditsToOctets(head, [{ op: 'prefix', name: 'Subject', value: '\u00fc ' }, { op: 'delete', name: 'X-Tag', value: '\u00e9t\u00e9' }]);
    expect(out.equals(Buffer.concat([Buffer.from('Subject: \u00fc '), Buffer.from('Gr\xfc\xdfe\r\n\r\n', 'latin1')]))).toBe(true);
  });

  it('any octets of a field value other than CR and LF are kept when a field is added', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a.filter((o) => o !== 0x0d && o !== 0x0a))), (value) => {
        const head = Buffer.concat([Buffer.from('X-Raw: '), value, Buffer.from('\r\n\r\n')]);
        const out = applyHeaderEditsToOctets(Buffer.concat([head, latin1Body]), add);
        expect(out.equals(Buffer.concat([Buffer.from('X-A: 1\r\n'), head, latin1Body]))).toBe(true);
      }),
    );
  });
});

describe('editedMessageOctets', () => {
  const received = Buffer.concat([Buffer.from('Subject: hi\r\nX-Old: 1\r\n\r\n'), latin1Body]);
  const text = received.toString('utf8');

  it('a script that changed only the header (editheader) keeps the received body octets', () => {
    const edited = text.replace('X-Old: 1\r\n', '');
    const out = editedMessageOctets(edited, received, text, add);
    expect(out.equals(Buffer.concat([Buffer.from('X-A: 1\r\nSubject: hi\r\n\r\n'), latin1Body]))).toBe(true);
  });

  it('a body the script replaced (enclose) is its own text in UTF-8', () => {
    const edited = 'Subject: wrapped\r\n\r\nSee the attached message: caf\u00e9\r\n';
    expect(editedMessageOctets(edited, received, text, []).toString('utf8')).toBe(edited);
  });
});
