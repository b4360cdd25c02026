import { describe, expect, it } from 'vitest';
import { applyHeaderEdits } from '../../src/session/header-edits.js';

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
