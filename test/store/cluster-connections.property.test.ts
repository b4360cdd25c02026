/**
 * Per-IP connection counts across cluster workers without Redis
 * (src/store/cluster-connections.ts), over in-memory channels that keep
 * order as node:cluster's IPC does: every open is answered with the count
 * over every live worker, and a worker's death takes its connections out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ClusterConnections, ConnectionTally } from '../../src/store/cluster-connections.js';
import { PrimaryChannel } from '../../src/store/primary-channel.js';
import { linkToPrimary } from '../helpers/primary-link.js';

/** A worker and the primary joined by a channel that delivers in order, a turn later. */
function join(tally: ConnectionTally, id: number) {
  const link = linkToPrimary(id, (worker, m) => tally.handle(worker, m));
  return { counter: new ClusterConnections(link.channel), cut: link.cut };
}

const settle = () => new Promise<void>((r) => setTimeout(r, 5));

describe('connections counted in the primary', () => {
  it('answers each open with the count over every live worker', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ op: fc.constantFrom('open', 'close', 'die'), worker: fc.integer({ min: 0, max: 2 }), ip: fc.constantFrom('192.0.2.1', '192.0.2.2'), dieNow: fc.boolean() }), { maxLength: 40 }),
        async (steps) => {
          const tally = new ConnectionTally();
          let ids = 0;
          const start = () => {
            const id = ++ids;
            return { id, ...join(tally, id), model: new Map<string, number>() };
          };
          const workers = [start(), start(), start()];
          const total = (ip: string) => workers.reduce((n, w) => n + (w.model.get(ip) ?? 0), 0);
          for (const s of steps) {
            const w = workers[s.worker]!;
            if (s.op === 'open') {
              w.model.set(s.ip, (w.model.get(s.ip) ?? 0) + 1);
              const answered = w.counter.open(s.ip);
              if (s.dieNow) {
                // It dies with its open still on the way: the open must not count.
                w.cut();
                tally.forget(w.id);
                workers[s.worker] = start();
                continue;
              }
              expect(await answered).toBe(total(s.ip));
            } else if (s.op === 'close') {
              if ((w.model.get(s.ip) ?? 0) === 0) continue;
              w.model.set(s.ip, w.model.get(s.ip)! - 1);
              w.counter.close(s.ip);
            } else {
              // The worker dies with its connections; another starts in its place.
              w.cut();
              tally.forget(w.id);
              workers[s.worker] = start();
            }
          }
          await settle();
          for (const ip of ['192.0.2.1', '192.0.2.2']) expect(tally.current(ip)).toBe(total(ip));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('answers from its own count when the primary does not answer within a second', async () => {
    const silent = new ClusterConnections(new PrimaryChannel({ connected: true, send: () => true, on: () => undefined }));
    const started = Date.now();
    expect(await silent.open('192.0.2.9')).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    // Without a channel at all (the primary gone), at once.
    const alone = new ClusterConnections(new PrimaryChannel({ connected: false, on: () => undefined }));
    expect(await alone.open('192.0.2.9')).toBe(1);
    expect(await alone.open('192.0.2.9')).toBe(2);
  });
});
