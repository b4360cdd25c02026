import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { inboundAudit } from '../../src/policy/inbound-audit.js';
import { ConnectionState } from '../../src/session/state.js';
import { MemoryCounterStore, SERIES, type CounterStore } from '../../src/sievepp/counters.js';

const client = new ConnectionState({ id: 'c1', remoteAddress: '192.0.2.7', remotePort: 1234, localAddress: '127.0.0.1', localPort: 25, tls: false, hostname: 'mx.test', banner: 'x' });
const outcome = (phase: 'data' | 'rcptto', accepted: boolean) => ({ phase, accepted, reply: { code: accepted ? 250 : 550, text: 'x' }, disconnect: false, tarpitMs: 0 });

describe('the inbound audit series', () => {
  it('counts connections, receptions and rejections per client address as they happen', async () => {
    const counters = new MemoryCounterStore();
    const audit = inboundAudit(counters, () => 1_000_000);
    audit.connection!('open', client);
    audit.phase!(outcome('rcptto', false), client);
    audit.phase!(outcome('data', true), client);
    const count = (series: string) => counters.count({ series, ip: client.remoteAddress, mask: 32, now: 1_000_000, periodStart: 0, periodEnd: 0, monitor: { window: 60, windows: 1 } });
    expect([await count(SERIES.connections), await count(SERIES.receptions), await count(SERIES.rejections)]).toEqual([1, 1, 1]);
  });

  it("leaves no rejection unhandled when a shared store's count fails", async () => {
    const unhandled: unknown[] = [];
    const listener = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', listener);
    try {
      const failing: CounterStore = { add: () => Promise.reject(new Error('store down')), count: async () => 0 };
      const audit = inboundAudit(failing);
      audit.connection!('open', client);
      audit.phase!(outcome('data', true), client);
      await turn();
      await turn();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
  });
});
