/**
 * A message in 7 bits for a next hop without 8BITMIME (src/delivery/seven-bit.ts,
 * RFC 6152 3): 8-bit bodies go quoted-printable with the same octets once
 * decoded, and everything else is left as it was.
 */
import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasEightBit, sevenBitOctets } from '../../src/delivery/seven-bit.js';
import { largestWrite } from '../helpers/largest-write.js';

interface Part {
  node: { contentType: string | false; encoding: string | false; multipart: string | false; getHeaders(): Buffer; getDecoder(): Transform };
  body: Buffer[];
}

const { Splitter } = createRequire(import.meta.url)('@zone-eu/mailsplit') as { Splitter: new () => Transform };

/** Each part's content type, and its body decoded from its transfer encoding, as mailsplit reads the message (an attached message's parts in its place). */
async function parts(octets: Buffer): Promise<Array<{ type: string | false; body: string }>> {
  const found: Part[] = [];
  const splitter = new Splitter();
  splitter.end(octets);
  for await (const piece of splitter as AsyncIterable<{ type: string; value?: Buffer } & Part['node']>) {
    if (piece.type === 'node') found.push({ node: piece, body: [] });
    else if (piece.type === 'body') found.at(-1)!.body.push(piece.value!);
  }
  const out: Array<{ type: string | false; body: string }> = [];
  for (const p of found) {
    if (p.node.multipart) continue;
    const decoder = p.node.getDecoder();
    decoder.end(Buffer.concat(p.body));
    const decoded: Buffer[] = [];
    for await (const c of decoder) decoded.push(c as Buffer);
    // An attached message is compared by its own parts: its octets change when one of them is converted.
    if (p.node.contentType === 'message/rfc822') out.push(...(await parts(Buffer.concat(decoded))));
    else out.push({ type: p.node.contentType, body: Buffer.concat(decoded).toString('latin1') });
  }
  return out;
}

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const libqp = createRequire(import.meta.url)('libqp') as { encode(b: Buffer): string; wrap(s: string, n: number): string };

describe('a message in 7 bits', () => {
  it('an 8bit Latin-1 body goes quoted-printable, the same octets once decoded', async () => {
    const message = latin1('From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xfc\xdfe, = x\r\n');
    const out = await sevenBitOctets(message);
    expect(hasEightBit(out)).toBe(false);
    expect(out.toString()).toContain('Content-Transfer-Encoding: quoted-printable\r\n');
    expect(out.toString()).toContain('Gr=FC=DFe, =3D x');
    expect(await parts(out)).toEqual(await parts(message));
  });

  it('in a multipart, only the 8-bit part changes: a base64 attachment is left octet for octet, and the multipart says 7bit', async () => {
    const attachment = 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n';
    const message = latin1(
      `From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\nContent-Transfer-Encoding: 8bit\r\n\r\npreamble\r\n--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nd\xe9j\xe0 vu\r\n--b1\r\n${attachment}--b1--\r\n`,
    );
    const out = (await sevenBitOctets(message)).toString('latin1');
    expect(hasEightBit(latin1(out))).toBe(false);
    expect(out).toContain(`--b1\r\n${attachment}--b1--`);
    expect(out).toMatch(/boundary="b1"\r\nContent-Transfer-Encoding: 7bit\r\n/);
    expect(await parts(latin1(out))).toEqual(await parts(message));
  });

  it('an embedded message (message/rfc822) declared 8bit has its own 8-bit part converted, and is declared 7bit', async () => {
    const inner = 'From: b@c.test\r\nSubject: inner\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nna\xefve\r\n';
    const message = latin1(
      `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--o\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${inner}--o--\r\n`,
    );
    const out = (await sevenBitOctets(message)).toString('latin1');
    expect(hasEightBit(latin1(out))).toBe(false);
    expect(out).toContain('Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 7bit\r\n');
    expect(out).toContain('na=EFve');
    // The attached message is MIME now too (RFC 2045 4).
    expect(out).toContain('\r\n\r\nFrom: b@c.test\r\nSubject: inner\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\nna=EFve');
    expect(await parts(latin1(out))).toEqual(await parts(message));
  });

  it('a large 8-bit part is encoded a piece at a time, into the text libqp makes of it whole, lines of 76 characters at most', async () => {
    // Encoded at once, a 10 MB part held every session (src/in-turns.ts); the largest write a stream is given tells it without a clock.
    const text = latin1('Caf\xe9 cr\xe8me, cr\xeape \xe0 la ch\xe2taigne   \r\n\t tabs\t\r\n'.repeat(60_000));
    const message = Buffer.concat([latin1('From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'), text]);
    const { value: out, largest } = await largestWrite(() => sevenBitOctets(message));
    const body = out.subarray(out.indexOf('\r\n\r\n') + 4).toString('latin1');
    expect(body).toBe(libqp.wrap(libqp.encode(text), 76));
    expect(Math.max(...body.split('\r\n').map((l) => l.length))).toBeLessThanOrEqual(76);
    expect(message.length).toBeGreaterThan(2_000_000);
    expect(largest).toBeLessThanOrEqual(256 * 1024);
  });

  it('a message in 7 bits already comes out octet for octet', async () => {
    const message = Buffer.from('From: a@b.test\r\nSubject: plain\r\n\r\nnothing = to do\r\n\r\n');
    expect((await sevenBitOctets(message)).equals(message)).toBe(true);
  });

  it('a part declared 8bit with nothing above 127 is declared 7bit, its body unchanged', async () => {
    const message = Buffer.from('MIME-Version: 1.0\r\nContent-Transfer-Encoding: 8bit\r\n\r\nascii only\r\n');
    expect((await sevenBitOctets(message)).toString()).toBe('MIME-Version: 1.0\r\nContent-Transfer-Encoding: 7bit\r\n\r\nascii only\r\n');
  });

  it('a message without MIME header fields but with an 8-bit body gets MIME-Version and quoted-printable', async () => {
    const out = (await sevenBitOctets(latin1('Subject: old mailer\r\n\r\nna\xefve\r\n'))).toString();
    expect(out).toBe('Subject: old mailer\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nna=EFve\r\n');
  });

  it('property: any parts, attached messages among them, come out with nothing above 127 and the same decoded bodies', async () => {
    const octet = fc.oneof(fc.constantFrom(0x0d, 0x0a, 0x20, 0x3d, 0x09), fc.integer({ min: 0x21, max: 0xff }));
    const body = fc.uint8Array({ maxLength: 300 }).chain((b) => fc.array(octet, { minLength: b.length % 200, maxLength: b.length % 200 })).map((a) => Buffer.from(a));
    const part = fc.record({ encoding: fc.constantFrom('8bit', 'binary', '7bit', ''), body, attached: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(part, { minLength: 1, maxLength: 4 }), async (list) => {
        // Bodies must not hold the boundary line itself, or the structure would change.
        const bodies = list.map((p) => Buffer.from(p.body.toString('latin1').replace(/--/g, '-x'), 'latin1'));
        const cte = (e: string) => (e ? `Content-Transfer-Encoding: ${e}\r\n` : '');
        // A part is text, or a message attached whole (message/rfc822) whose one part is that text.
        const pieces = list.map((p, i) =>
          Buffer.concat([
            Buffer.from(p.attached ? `--zz\r\nContent-Type: message/rfc822\r\n${cte(p.encoding)}\r\nSubject: attached\r\nContent-Type: text/plain\r\n${cte(p.encoding)}\r\n` : `--zz\r\nContent-Type: text/plain\r\n${cte(p.encoding)}\r\n`),
            bodies[i]!,
            Buffer.from('\r\n'),
          ]),
        );
        const message = Buffer.concat([Buffer.from('MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n'), ...pieces, Buffer.from('--zz--\r\n')]);
        const out = await sevenBitOctets(message);
        expect(hasEightBit(out)).toBe(false);
        expect(await parts(out)).toEqual(await parts(message));
      }),
      { numRuns: 150 },
    );
  });
});
