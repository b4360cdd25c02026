/**
 * ec_dkim_sign's signature of a large message is made a piece an
 * event-loop turn (src/session/dkim-signing.ts): other sessions' work runs
 * between the pieces, where handed the message whole mailauth hashed it in
 * one turn. Turns are counted, not timed (test/helpers/turn-counter.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimVerify } from 'mailauth';
import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { finishMessage } from '../../src/session/delivery-plan.js';
import { headerTooLargeToSign, signMessage } from '../../src/session/dkim-signing.js';
import { bufferSource, HEAD_LIMIT } from '../../src/session/message-source.js';
import { inTurns } from '../../src/in-turns.js';
import { turnCounter } from '../helpers/turn-counter.js';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const record = `v=DKIM1; k=rsa; p=${keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const resolver = async (name: string, type: string) => {
  if (type === 'TXT' && name === 'sel._domainkey.example.org') return [[record]];
  throw Object.assign(new Error(`no ${type} for ${name}`), { code: 'ENOTFOUND' });
};

/** Turns the event loop gave another session's work (turn-counter.ts) while `work` ran. */
async function turnsDuring<T>(work: Promise<T>): Promise<{ value: T; turns: number }> {
  const counter = turnCounter();
  try {
    const value = await work;
    return { value, turns: counter.stop() };
  } finally {
    counter.stop();
  }
}

describe('DKIM signing in turns', () => {
  it('inTurns gives the octets as they are, in pieces of 64 KiB at most, one an event-loop turn', async () => {
    const bytes = Buffer.alloc(1_000_000 + 17, 'a');
    const pieces: Buffer[] = [];
    const { turns } = await turnsDuring(
      (async () => {
        for await (const p of inTurns(bytes)) pieces.push(p as Buffer);
      })(),
    );
    expect(Buffer.concat(pieces).equals(bytes)).toBe(true);
    expect(Math.max(...pieces.map((p) => p.length))).toBeLessThanOrEqual(64 * 1024);
    expect(turns).toBeGreaterThanOrEqual(pieces.length - 1);
    const none: Buffer[] = [];
    for await (const p of inTurns(Buffer.alloc(0))) none.push(p as Buffer);
    expect(none).toEqual([]);
  });

  it('signs a 4 MB message with the event loop turning between its pieces, and the signature verifies', async () => {
    const body = 'Lorem ipsum dolor sit amet,   consectetur adipiscing elit  \r\n'.repeat(70_000);
    const message = Buffer.from(`From: a@example.org\r\nTo: b@example.org\r\nSubject: big\r\n\r\n${body}`);
    for (const canonicalization of ['simple/simple', 'relaxed/relaxed']) {
      const { value: signed, turns } = await turnsDuring(signMessage(message, [{ signingDomain: 'example.org', selector: 'sel', privateKey, canonicalization, algorithm: 'rsa-sha256', bodyLengthLimit: false, lifetimeHours: 0 }]));
      // 4 MB is 64 pieces of 64 KiB: the loop had a turn at least between most of them.
      expect(turns).toBeGreaterThan(32);
      const verified = await dkimVerify(signed, { resolver: resolver as never });
      expect(verified.results.map((r) => r.status.result)).toEqual(['pass']);
    }
  });

  it('leaves a message whose header section is past HEAD_LIMIT unsigned, with a warning: mailauth would parse it in one turn', async () => {
    const request = { signingDomain: 'example.org', selector: 'sel', privateKey, canonicalization: 'relaxed/relaxed', algorithm: 'rsa-sha256', bodyLengthLimit: false, lifetimeHours: 0 };
    const field = 'X-F: 0123456789abcdefghijklmnopqrstuvwxyz\r\n';
    const fields = (octets: number) => field.repeat(Math.ceil(octets / field.length));
    const long = Buffer.from(`From: a@example.org\r\n${fields(HEAD_LIMIT + 100)}\r\nhi\r\n`);
    const short = Buffer.from(`From: a@example.org\r\n${fields(HEAD_LIMIT - 1000)}\r\n${'body\r\n'.repeat(100_000)}`);
    expect([headerTooLargeToSign(long), headerTooLargeToSign(short), headerTooLargeToSign(Buffer.from('no header end'.repeat(30_000)))]).toEqual([true, false, true]);
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const plan = { stores: [{ folder: 'INBOX', recipients: ['b@c.test'] }], redirects: [], vacations: [], notifications: [], dkim: [request] };
    const at = { session: 's', transaction: 't' };
    expect(await finishMessage(plan, bufferSource(long), {}, logger, at)).toEqual({ stores: plan.stores, redirects: [], vacations: [], notifications: [] });
    expect(lines).toEqual([expect.objectContaining({ event: 'dkim.unsigned', reason: 'header section too large to sign', session: 's', transaction: 't' })]);
    const signed = await finishMessage(plan, bufferSource(short), {}, logger, at);
    expect(signed.message!.bytes().subarray(0, 16).toString()).toBe('DKIM-Signature: ');
    expect(lines).toHaveLength(1);
  });
});
