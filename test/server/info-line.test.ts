import { Writable } from 'node:stream';
import fc from 'fast-check';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { infoLine } from '../../src/info-line.js';
import { createLogger } from '../../src/server/logger.js';

/** The lines `write` has a logger createLogger made hand to its destination (before it gathers them). */
function linesOf(write: (log: pino.Logger) => void, level = 'info'): string[] {
  const log = createLogger({ level, dest: '/dev/null' }, {});
  const destination = (log as unknown as Record<symbol, { write(line: string): boolean }>)[pino.symbols.streamSym]!;
  const handed: string[] = [];
  const gather = destination.write.bind(destination);
  destination.write = (line: string) => {
    handed.push(line);
    return gather(line);
  };
  write(log);
  return handed;
}

/** The line without its time, which differs between two lines written a moment apart. */
const timeless = (line: string) => line.replace(/,"time":\d+/, ',"time":0');

/** A transaction line as the session writes it. */
const transaction = {
  event: 'transaction',
  session: 'ABCDEFGHIJKL',
  transaction: 'ABCDEFGHIJKL.1',
  client: '127.0.0.1',
  helo: 'client.test',
  from: 'alice@sender.test',
  recipients: ['bob@here.test', 'carol@here.test'],
  outcome: 'accepted',
  phases: [{ phase: 'mailfrom', code: 250 }, { phase: 'rcptto', code: 550, recipient: 'carol@here.test', text: 'no "such" user\\' }, { phase: 'data', code: 250 }],
  cbv: null,
  ids: ['1764655555.M1P2Q3.host'],
  stores: [{ folder: 'INBOX', recipients: ['bob@here.test'] }],
  redirects: [],
  bytes: 1075,
  helloAgain: undefined,
};

describe('infoLine', () => {
  it("writes the line pino writes for the same fields and message, octet for octet but the time", () => {
    const [fast, slow] = linesOf((log) => {
      infoLine(log, transaction, 'transaction accepted');
      log.info(transaction, 'transaction accepted');
    });
    expect(timeless(fast!)).toBe(timeless(slow!));
    expect(JSON.parse(fast!)).toMatchObject({ level: 30, name: 'smtp-cbv', event: 'transaction', cbv: null, msg: 'transaction accepted' });
    expect(JSON.parse(fast!)).not.toHaveProperty('helloAgain');
  });

  it("carries a child logger's bindings, as pino does", () => {
    const [fast, slow] = linesOf((log) => {
      const child = log.child({ module: 'cbv', worker: 2 });
      infoLine(child, { event: 'x' }, 'm');
      child.info({ event: 'x' }, 'm');
    });
    expect(timeless(fast!)).toBe(timeless(slow!));
    expect(JSON.parse(fast!)).toMatchObject({ module: 'cbv', worker: 2, event: 'x' });
  });

  it('writes nothing when info is off', () => {
    expect(linesOf((log) => infoLine(log, transaction, 'transaction accepted'), 'warn')).toEqual([]);
  });

  it('gives fields JSON cannot take to pino, which writes them its own way', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const [big, circular] = linesOf((log) => {
      infoLine(log, { event: 'x', n: 10n }, 'big');
      infoLine(log, { event: 'y', cycle }, 'cycle');
    });
    expect(JSON.parse(big!)).toMatchObject({ event: 'x', n: 10, msg: 'big' });
    expect(JSON.parse(circular!)).toMatchObject({ event: 'y', cycle: { a: 1, self: '[Circular]' }, msg: 'cycle' });
  });

  it("leaves a logger it was not told about to pino: its serializers are applied", () => {
    const out: string[] = [];
    const sink = new Writable({ write: (chunk, _enc, cb) => (out.push(String(chunk)), cb()) });
    const log = pino({ level: 'info', serializers: { from: () => '<hidden>' } }, sink);
    infoLine(log, { event: 'transaction', from: 'alice@sender.test' }, 'transaction accepted');
    expect(JSON.parse(out[0]!)).toMatchObject({ event: 'transaction', from: '<hidden>' });
  });

  it('property: for any fields of JSON values, the line is the one pino writes', () => {
    const key = fc.string({ minLength: 1, maxLength: 12 });
    fc.assert(
      fc.property(fc.dictionary(key, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }), fc.string({ maxLength: 40 }), (fields, msg) => {
        const [fast, slow] = linesOf((log) => {
          infoLine(log, fields, msg);
          log.info(fields, msg);
        });
        expect(timeless(fast!)).toBe(timeless(slow!));
      }),
      { numRuns: 1000 },
    );
  });
});
