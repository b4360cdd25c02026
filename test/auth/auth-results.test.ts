/**
 * The Authentication-Results codec (src/auth/auth-results.ts): examples
 * from RFC 8601's grammar, and properties over generated ids, comments,
 * header sections and 8-bit bodies.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authResultsField, authResultsValue, formatAuthservId, parseAuthservId, rewriteAuthHeaders } from '../../src/auth/auth-results.js';

/** Printable ASCII without CR/LF: what an authserv-id may be made of once quoted. */
const idChar = fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c));
const authservId = fc.array(idChar, { minLength: 1, maxLength: 30 }).map((a) => a.join('')).filter((s) => s.trim() === s && s !== '');
const hostId = fc.domain();
const commentText = fc.array(idChar.filter((c) => c !== '(' && c !== ')' && c !== '\\'), { maxLength: 20 }).map((a) => a.join(''));
const clause = fc.tuple(fc.constantFrom('spf', 'dkim', 'dmarc', 'arc'), fc.constantFrom('pass', 'fail', 'none', 'temperror'), fc.domain()).map(([m, r, d]) => `${m}=${r} header.d=${d}`);
const fieldName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/).filter((n) => n.toLowerCase() !== 'authentication-results');
const fieldValue = fc.array(fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), { minLength: 1, maxLength: 20 }).map((a) => a.join(''));

describe('parseAuthservId (RFC 8601 2.2)', () => {
  it.each([
    [' mx.example.com; spf=pass', 'mx.example.com'],
    [' mx.example.com 1; none', 'mx.example.com'],
    ['(comment (nested)) mx.example.com; none', 'mx.example.com'],
    ['\r\n\t"quoted \\"id\\""; none', 'quoted "id"'],
    [' ; spf=pass', undefined],
    [' (unclosed mx.example.com', undefined],
    ['', undefined],
  ])('%j -> %j', (value, id) => {
    expect(parseAuthservId(value)).toBe(id);
  });

  it('reads back the id of every field we write, whatever its characters', () => {
    fc.assert(fc.property(authservId, fc.array(clause, { maxLength: 4 }), (id, clauses) => {
      expect(parseAuthservId(authResultsValue(id, clauses))).toBe(id);
    }));
  });

  it('skips any leading comment', () => {
    fc.assert(fc.property(commentText, hostId, (comment, id) => {
      expect(parseAuthservId(` (${comment}) ${formatAuthservId(id)}; none`)).toBe(id);
    }));
  });

  it('never throws', () => {
    fc.assert(fc.property(fc.string(), (s) => {
      parseAuthservId(s);
    }));
  });
});

describe('authResultsField', () => {
  it('writes no-result when nothing was checked, and one folded line per clause', () => {
    expect(authResultsField('mx.test', [])).toBe('Authentication-Results: mx.test; none');
    expect(authResultsField('mx.test', ['spf=pass smtp.mailfrom=a@b.example', 'dkim=none\r\n (folded)'])).toBe('Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=a@b.example;\r\n\tdkim=none (folded)');
  });
});

describe('rewriteAuthHeaders', () => {
  const header = fc.array(
    fc.oneof(
      fc.tuple(fieldName, fieldValue).map(([n, v]) => ({ own: false, text: `${n}: ${v}\r\n` })),
      fc.tuple(hostId, fc.boolean()).map(([id, folded]) => ({ own: false, text: `Authentication-Results: other-${id};${folded ? '\r\n\t' : ' '}spf=pass\r\n` })),
      fc.tuple(fc.constantFrom('mx.test', 'MX.Test', '"mx.test"', '(c) mx.test'), fc.boolean()).map(([id, folded]) => ({ own: true, text: `Authentication-Results: ${id};${folded ? '\r\n ' : ' '}dmarc=pass\r\n` })),
    ),
    { maxLength: 8 },
  );
  const body = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));

  it('removes exactly the fields claiming our id, keeps the rest in order, adds ours on top, body untouched', () => {
    fc.assert(fc.property(header, body, (fields, bodyBytes) => {
      const msg = Buffer.concat([Buffer.from(fields.map((f) => f.text).join(''), 'latin1'), Buffer.from('\r\n'), bodyBytes]);
      const ours = authResultsField('mx.test', ['spf=pass']);
      const out = rewriteAuthHeaders(msg, 'mx.test', [ours]);
      const expected = Buffer.concat([Buffer.from(`${ours}\r\n${fields.filter((f) => !f.own).map((f) => f.text).join('')}\r\n`, 'latin1'), bodyBytes]);
      expect(out.equals(expected)).toBe(true);
      // Done twice, ours replaces ours: still exactly one.
      const again = rewriteAuthHeaders(out, 'mx.test', [ours]);
      expect(again.equals(out)).toBe(true);
    }));
  });

  it('never throws and keeps every byte after the header section', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const msg = Buffer.from(bytes);
      const out = rewriteAuthHeaders(msg, 'mx.test', ['Authentication-Results: mx.test; none']);
      const text = msg.toString('latin1');
      const end = /\r?\n\r?\n/.exec(text);
      if (end) expect(out.toString('latin1').endsWith(text.slice(end.index))).toBe(true);
      expect(out.toString('latin1').startsWith('Authentication-Results: mx.test; none')).toBe(true);
    }));
  });

  it('follows bare-LF line ends when the message uses them', () => {
    const out = rewriteAuthHeaders(Buffer.from('Subject: x\nAuthentication-Results: mx.test; spf=pass\n\nbody\n'), 'mx.test', ['Authentication-Results: mx.test;\r\n\tspf=fail']);
    expect(out.toString()).toBe('Authentication-Results: mx.test;\n\tspf=fail\nSubject: x\n\nbody\n');
  });
});

/** rewriteAuthHeaders as it was written before it scanned for the name: every field split apart and joined again. */
function splitRewrite(message: Buffer, authservId: string, fields: readonly string[]): Buffer {
  const text = message.toString('latin1');
  const split = text.startsWith('\r\n') || text.startsWith('\n') ? 0 : ((m) => (m ? m.index + (text[m.index] === '\r' ? 2 : 1) : text.length))(/\r?\n\r?\n/.exec(text));
  const head = text.slice(0, split);
  const kept: string[] = [];
  for (const field of (head.match(/[^\n]*\n|[^\n]+$/g) ?? []).reduce<string[]>((out, line) => ((line.startsWith(' ') || line.startsWith('\t')) && out.length ? (out[out.length - 1] += line) : out.push(line), out), [])) {
    const colon = field.indexOf(':');
    const name = colon < 0 ? '' : field.slice(0, colon).trim().toLowerCase();
    if (name === 'authentication-results' && parseAuthservId(field.slice(colon + 1))?.toLowerCase() === authservId.toLowerCase()) continue;
    kept.push(field);
  }
  const eol = /\r\n/.test(head) || !/\n/.test(head) ? '\r\n' : '\n';
  const added = fields.map((f) => (eol === '\n' ? f.replace(/\r\n/g, '\n') : f) + eol);
  return Buffer.from(added.join('') + kept.join('') + text.slice(split), 'latin1');
}

describe('rewriteAuthHeaders over any header section', () => {
  it('removes and adds what splitting every field did (property)', () => {
    const name = fc.constantFrom('Authentication-Results', 'authentication-results', 'AUTHENTICATION-RESULTS ', 'Authentication-Results\xa0', 'Authentication-Results-Original', ' Authentication-Results', 'Authentication-Results\r\n ', 'From', 'X-Y');
    const id = fc.constantFrom('mx.example', 'MX.Example', 'other.example', '(c) mx.example', '"mx.example"', '');
    const continuation = fc.constantFrom('', '\r\n\tdkim=pass', '\n dkim=fail', '\r\n (x)', '\r');
    const field = fc.tuple(name, fc.constantFrom(':', ' :', ''), id, fc.constantFrom('; spf=pass', '', ';'), continuation).map((p) => p.join(''));
    const message = fc.tuple(fc.array(field, { maxLength: 8 }), fc.constantFrom('\r\n', '\n'), fc.constantFrom('\r\n\r\nbody\xe9\r\n', '\n\nbody\n', '', '\r\n')).map(([fs, eol, rest]) => Buffer.from(fs.join(eol) + (fs.length ? eol : '') + rest, 'latin1'));
    fc.assert(
      fc.property(message, fc.constantFrom('mx.example', 'MX.EXAMPLE', 'other.example'), (m, ours) => {
        const fields = [`Authentication-Results: ${ours}; dkim=none`];
        expect(rewriteAuthHeaders(m, ours, fields).toString('latin1')).toBe(splitRewrite(m, ours, fields).toString('latin1'));
      }),
      { numRuns: 2000 },
    );
  });
});
