/**
 * The milter codec against byte sequences written out from the protocol
 * description (libmilter's mfdef.h codes, 4-byte big-endian lengths that
 * count the code byte, NUL-terminated strings), round trips of every
 * command and response, and a property: any byte stream gives frames or a
 * clean MilterProtocolError, and the decoder never holds more than one
 * bounded frame.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame, type Frame, FrameDecoder, MilterProtocolError } from '../../src/frontdoors/milter/frames.js';
import { decodeCommand, decodeResponse, encodeCommand, encodeResponse, type MilterCommand, type MilterResponse } from '../../src/frontdoors/milter/messages.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const one = (bytes: Buffer): Frame => {
  const frames = new FrameDecoder().push(bytes);
  expect(frames).toHaveLength(1);
  return frames[0]!;
};

describe('milter frames from the protocol description', () => {
  it('option negotiation as Postfix 3 sends it: version 6, all actions, all events', () => {
    // len 13 | 'O' | version 6 | actions 0x1ff | protocol 0x1fffff
    const bytes = hex('0000000d 4f 00000006 000001ff 001fffff');
    expect(decodeCommand(one(bytes))).toEqual({ kind: 'optneg', version: 6, actions: 0x1ff, protocol: 0x1fffff });
    expect(encodeCommand({ kind: 'optneg', version: 6, actions: 0x1ff, protocol: 0x1fffff })).toEqual(bytes);
  });

  it('connect: host name, family 4, port in network order, address', () => {
    // 'C' "mail.example\0" '4' 0x3039 (12345) "192.0.2.1\0"
    const bytes = Buffer.concat([hex('0000001b 43'), Buffer.from('mail.example\0', 'latin1'), Buffer.from('4'), hex('3039'), Buffer.from('192.0.2.1\0', 'latin1')]);
    expect(decodeCommand(one(bytes))).toEqual({ kind: 'connect', hostname: 'mail.example', family: 'inet', port: 12345, address: '192.0.2.1' });
  });

  it('macros: the command they are for, then name/value pairs; braces dropped', () => {
    const data = Buffer.from('Mi\0ABC123\0{auth_authen}\0alice\0', 'latin1');
    const bytes = Buffer.concat([hex(`${(data.length + 1).toString(16).padStart(8, '0')} 44`), data]);
    expect(decodeCommand(one(bytes))).toEqual({ kind: 'macro', for: 'M', macros: [['i', 'ABC123'], ['auth_authen', 'alice']] });
  });

  it('MAIL with ESMTP arguments, header, end of header, body, end of body', () => {
    expect(decodeCommand({ code: 'M', data: Buffer.from('<a@b.example>\0SIZE=100\0') })).toEqual({ kind: 'mail', args: ['<a@b.example>', 'SIZE=100'] });
    expect(decodeCommand({ code: 'L', data: Buffer.from('Subject\0 hi\0') })).toEqual({ kind: 'header', name: 'Subject', value: Buffer.from(' hi') });
    expect(decodeCommand({ code: 'N', data: Buffer.alloc(0) })).toEqual({ kind: 'eoh' });
    expect(decodeCommand({ code: 'B', data: Buffer.from('body\r\n') })).toEqual({ kind: 'body', chunk: Buffer.from('body\r\n') });
    expect(decodeCommand({ code: 'E', data: Buffer.alloc(0) })).toEqual({ kind: 'eob', chunk: Buffer.alloc(0) });
  });

  it('responses: continue is one byte after the length; a reply code is a C string', () => {
    expect(encodeResponse({ kind: 'continue' })).toEqual(hex('00000001 63'));
    expect(encodeResponse({ kind: 'replycode', text: '550 5.7.1 no' })).toEqual(Buffer.concat([hex('0000000e 79'), Buffer.from('550 5.7.1 no\0')]));
    // INSHEADER: index, name, value
    expect(encodeResponse({ kind: 'insheader', index: 0, name: 'X-A', value: ' b' })).toEqual(Buffer.concat([hex('0000000c 69 00000000'), Buffer.from('X-A\0 b\0')]));
  });

  it('the negotiation reply carries the macro lists by stage', () => {
    const bytes = encodeResponse({ kind: 'optneg', version: 6, actions: 0x13d, protocol: 0x1f0080, macros: { connect: 'j _', mail: 'i' } });
    expect(bytes.subarray(0, 5)).toEqual(hex('0000001b 4f'));
    expect(bytes.subarray(17)).toEqual(Buffer.concat([hex('00000000'), Buffer.from('j _\0'), hex('00000002'), Buffer.from('i\0')]));
    expect(decodeResponse(one(bytes))).toEqual({ kind: 'optneg', version: 6, actions: 0x13d, protocol: 0x1f0080, macros: { connect: 'j _', mail: 'i' } });
  });
});

describe('malformed frames are errors, not crashes', () => {
  const bad: Array<[string, Frame | Buffer]> = [
    ['a zero length', hex('00000000')],
    ['a length over the bound', hex('7fffffff 4f')],
    ['an unknown command code', { code: 'z', data: Buffer.alloc(0) }],
    ['a string without its NUL', { code: 'H', data: Buffer.from('helo') }],
    ['a truncated option negotiation', { code: 'O', data: hex('000000 06') }],
    ['an unknown address family', { code: 'C', data: Buffer.from('h\0X') }],
    ['a macro without its value', { code: 'D', data: Buffer.from('Cj\0') }],
    ['MAIL without an address', { code: 'M', data: Buffer.alloc(0) }],
    ['bytes after a header value', { code: 'L', data: Buffer.from('A\0b\0junk') }],
    ['data after ABORT', { code: 'A', data: Buffer.from('x') }],
  ];
  for (const [what, input] of bad) {
    it(what, () => {
      const run = () => (Buffer.isBuffer(input) ? new FrameDecoder().push(input) : decodeCommand(input));
      expect(run).toThrow(MilterProtocolError);
    });
  }
});

describe('round trips', () => {
  const commands: MilterCommand[] = [
    { kind: 'optneg', version: 6, actions: 0x1ff, protocol: 0x1fffff },
    { kind: 'macro', for: 'C', macros: [['j', 'mx.example'], ['client_addr', '192.0.2.7']] },
    { kind: 'connect', hostname: '[192.0.2.7]', family: 'inet', port: 25, address: '192.0.2.7' },
    { kind: 'connect', hostname: 'h6', family: 'inet6', port: 2525, address: '2001:db8::1' },
    { kind: 'connect', hostname: 'unknown', family: 'unknown', port: 0, address: '' },
    { kind: 'helo', name: 'client.example' },
    { kind: 'mail', args: ['<>'] },
    { kind: 'rcpt', args: ['<b@c.example>', 'NOTIFY=NEVER'] },
    { kind: 'data' },
    { kind: 'header', name: 'Subject', value: Buffer.from(' Grüße') },
    { kind: 'eoh' },
    { kind: 'body', chunk: Buffer.from('x\r\n') },
    { kind: 'eob', chunk: Buffer.alloc(0) },
    { kind: 'unknown', line: 'XYZZY' },
    { kind: 'abort' },
    { kind: 'quit' },
    { kind: 'quit-nc' },
  ];
  it('every command', () => {
    for (const c of commands) expect(decodeCommand(one(encodeCommand(c)))).toEqual(c);
  });

  const responses: MilterResponse[] = [
    { kind: 'optneg', version: 6, actions: 0x3d, protocol: 0x80 },
    { kind: 'continue' }, { kind: 'accept' }, { kind: 'reject' }, { kind: 'tempfail' }, { kind: 'discard' }, { kind: 'progress' }, { kind: 'skip' },
    { kind: 'replycode', text: '550-5.7.1 a\r\n550 5.7.1 b' },
    { kind: 'addheader', name: 'X-Policy', value: ' ok' },
    { kind: 'chgheader', index: 2, name: 'Received', value: '' },
    { kind: 'addrcpt', address: '<x@y.example>' },
    { kind: 'delrcpt', address: '<z@y.example>' },
    { kind: 'chgfrom', address: '<n@y.example>' },
    { kind: 'chgfrom', address: '<n@y.example>', args: 'SIZE=1' },
    { kind: 'quarantine', reason: 'spam' },
    { kind: 'replbody', body: Buffer.from('new body\r\n') },
    { kind: 'replbody', body: Buffer.alloc(0) },
  ];
  it('every response', () => {
    for (const r of responses) expect(decodeResponse(one(encodeResponse(r)))).toEqual(r);
  });

  it('frames split at every byte boundary come out whole', () => {
    const stream = Buffer.concat(commands.map(encodeCommand));
    const d = new FrameDecoder();
    const got: Frame[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    expect(got.map(decodeCommand)).toEqual(commands);
    expect(d.pending).toBe(0);
  });
});

describe('property: any byte stream gives frames or a clean error, in bounded memory', () => {
  it('random chunks', () => {
    const max = 512;
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 700 }), { maxLength: 20 }), (chunks) => {
        const d = new FrameDecoder(max);
        try {
          for (const c of chunks) {
            for (const f of d.push(Buffer.from(c))) {
              expect(f.data.length).toBeLessThan(max);
              try {
                decodeCommand(f);
              } catch (e) {
                expect(e).toBeInstanceOf(MilterProtocolError);
              }
            }
            expect(d.pending).toBeLessThanOrEqual(max + 4);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(MilterProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('valid frames cut anywhere decode to the same frames', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ code: fc.constantFrom('B', 'L', 'H', 'M', 'Q'), data: fc.uint8Array({ maxLength: 200 }) }), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (frames, cuts) => {
          const stream = Buffer.concat(frames.map((f) => encodeFrame(f.code, Buffer.from(f.data))));
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const d = new FrameDecoder();
          const got: Frame[] = [];
          let at = 0;
          for (const p of [...points, stream.length]) {
            got.push(...d.push(stream.subarray(at, p)));
            at = p;
          }
          expect(got).toEqual(frames.map((f) => ({ code: f.code, data: Buffer.from(f.data) })));
        },
      ),
      { numRuns: 300 },
    );
  });
});
