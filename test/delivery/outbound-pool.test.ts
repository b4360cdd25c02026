/**
 * OutboundPool (src/delivery/outbound.ts): connections kept open between
 * messages are bounded in all, so that with Server_Max_Outbound_Connections
 * the idle ones never outnumber the attempts the server may run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbound, OutboundPool } from '../../src/delivery/outbound.js';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';

let sink: MailSink;
beforeEach(async () => {
  sink = await startMailSink();
});
afterEach(() => sink.stop());

const options = { lmtp: false, tls: 'no' as const, helo: 'relay.test', connectTimeoutMs: 2000, responseTimeoutMs: 2000 };

async function connected(): Promise<Outbound> {
  const target = { name: '127.0.0.1', address: '127.0.0.1', port: sink.port };
  const conn = new Outbound(OutboundPool.key(target, options), target, options);
  expect(await conn.connect()).toBeNull();
  return conn;
}

describe('the pool of idle connections', () => {
  it('keeps at most maxIdle in all; one more is quit', async () => {
    const pool = new OutboundPool(1);
    const [a, b] = [await connected(), await connected()];
    pool.give(a);
    pool.give(b);
    expect(pool.size).toBe(1);
    expect(b.broken).toBe(true);
    expect(pool.take(a.key)).toBe(a);
    expect(pool.size).toBe(0);
    await expect.poll(() => sink.active).toBe(1);
    a.close();
    pool.closeAll();
  });

  it('keeps a connection again once one is taken', async () => {
    const pool = new OutboundPool(1);
    const a = await connected();
    pool.give(a);
    expect(pool.take(a.key)).toBe(a);
    pool.give(a);
    expect(pool.size).toBe(1);
    expect(a.broken).toBe(false);
    pool.closeAll();
    expect(pool.size).toBe(0);
  });
});
