/**
 * A client that resets its connection (TCP RST) mid-session must cost only
 * its own session: smtp-server reports the socket error as an 'error'
 * event on the server, which without a listener would end the process.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyDecision } from '../../src/session/decide.js';
import type { Policy } from '../../src/session/policy.js';
import { startTestServer, type TestServer } from '../helpers/server-fixture.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const acceptAll: Policy = { waitsForVerdict: () => false, run: async () => ({ decision: emptyDecision(), failed: false }) };

describe('the SMTP front door and resetting clients', () => {
  it('keeps serving after clients reset their connections mid-session', async () => {
    t = await startTestServer(acceptAll);
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const s = connect(t!.port, '127.0.0.1');
        s.on('error', () => undefined);
        s.once('data', () => {
          s.write('EHLO reset.test\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n');
          setTimeout(() => {
            s.resetAndDestroy();
            resolve();
          }, 20);
        });
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    const c = await t.client();
    expect((await c.reply()).code).toBe(220);
    expect((await c.command('EHLO ok.test')).code).toBe(250);
    expect(t.server.connectionCount).toBe(1);
  });
});
