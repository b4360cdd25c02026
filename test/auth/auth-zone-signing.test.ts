/**
 * The test zone's signatures (test/helpers/auth-zone.ts) verify whatever
 * the clock does while they are made. mailauth writes a signature's `t=`
 * from the clock each time it formats the header, once for the hash it
 * signs and once for the header it returns, unless it is given the time:
 * when a half second turned between the two (the RSA signature lies
 * between them, longer on a loaded machine), the header said another
 * second than the one signed, and the server's check answered
 * "dkim=fail (bad signature)" in a test now and then.
 */
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { type AuthDns, arcSealed, message, signed, startAuthDns } from '../helpers/auth-zone.js';
import { checkMessage } from '../../src/auth/checks.js';
import { createAuthResolve } from '../../src/auth/dns.js';

let z: AuthDns;
beforeAll(async () => {
  z = await startAuthDns();
});
afterAll(() => z.dns.close());
afterEach(() => vi.restoreAllMocks());

it('a DKIM signature or ARC set made while the clock turns a second still verifies', async () => {
  // Each read of the clock is 600 ms after the one before: the two formats of the header see different seconds.
  let now = Date.now();
  vi.spyOn(Date, 'now').mockImplementation(() => (now += 600));
  const msg = await signed(message('alice@example.com'), 'example.com', z.privateKey);
  const sealed = await arcSealed(message('alice@example.com'), z.privateKey);
  vi.restoreAllMocks();
  const resolve = createAuthResolve({ servers: [z.dns.address], cache: false });
  const check = (m: Buffer) => checkMessage(resolve, { message: m, sender: 'alice@example.com', spf: null, arc: true, dmarc: false, minKeyBits: 1024, timeoutMs: 5000 });
  expect((await check(msg)).dkim.result).toBe('pass');
  expect((await check(sealed)).arc?.result).toBe('pass');
});
