/**
 * Single flight across cluster workers without Redis
 * (src/store/cluster-flights.ts), over in-memory channels: one owner per
 * key, its waiters answered with its verdict, and asked to try again when
 * it gives up, dies or outlives its lock.
 */
import { describe, expect, it } from 'vitest';
import type { FlightTicket, SharedVerdict } from '../../src/cbv/shared.js';
import { ClusterFlights, FlightTally } from '../../src/store/cluster-flights.js';
import { PrimaryChannel } from '../../src/store/primary-channel.js';
import { linkToPrimary } from '../helpers/primary-link.js';

let clock = Date.UTC(2026, 0, 1);
const now = () => clock;
const verdict: SharedVerdict = { status: 'pass', reason: 'accepted', stage: 'rcpt', message: '250 ok' };
const opts = { lockTtlMs: 10_000, waitMs: 5_000 };

function workers() {
  const tally = new FlightTally(now);
  const links = [1, 2, 3].map((id) => linkToPrimary(id, (w, m) => tally.handle(w, m)));
  return { tally, links, flights: links.map((l) => new ClusterFlights(l.channel)) };
}

const owner = (t: FlightTicket) => {
  if (t.role !== 'owner') throw new Error(`expected the owner, got ${t.role}`);
  return t;
};
const waiter = (t: FlightTicket) => {
  if (t.role !== 'waiter') throw new Error(`expected a waiter, got ${t.role}`);
  return t;
};

describe('single flight kept in the primary', () => {
  it("gives one key one owner; the others wait for its verdict, and a late waiter still gets it", async () => {
    const { tally, flights } = workers();
    const a = owner(await flights[0]!.join('alice@example.test', opts));
    const b = waiter(await flights[1]!.join('alice@example.test', opts));
    const c = waiter(await flights[2]!.join('alice@example.test', opts));
    // Another key is another flight.
    owner(await flights[1]!.join('bob@example.test', opts));
    await a.done(verdict);
    expect(await b.result).toEqual({ kind: 'verdict', verdict });
    expect(await c.result).toEqual({ kind: 'verdict', verdict });
    expect(tally.size).toBe(1);
    // The next join finds no flight: it owns a new one.
    owner(await flights[2]!.join('alice@example.test', opts));
  });

  it('asks the waiters to try again when the owner gives up or dies', async () => {
    const { tally, links, flights } = workers();
    const a = owner(await flights[0]!.join('k1', opts));
    const b = waiter(await flights[1]!.join('k1', opts));
    await a.abandon();
    expect(await b.result).toEqual({ kind: 'retry' });
    owner(await flights[1]!.join('k2', opts));
    const c = waiter(await flights[2]!.join('k2', opts));
    links[1]!.cut();
    tally.forget(2);
    expect(await c.result).toEqual({ kind: 'retry' });
    owner(await flights[2]!.join('k2', opts));
  });

  it('lets a lock lapse after its time to live: the next join owns the key, the old waiters try again', async () => {
    const { flights } = workers();
    owner(await flights[0]!.join('k', opts));
    const b = waiter(await flights[1]!.join('k', opts));
    clock += opts.lockTtlMs + 1;
    owner(await flights[2]!.join('k', opts));
    expect(await b.result).toEqual({ kind: 'retry' });
  });

  it('times a waiter out at its deadline, and is unavailable when the primary does not answer', async () => {
    const { flights } = workers();
    owner(await flights[0]!.join('slow', opts));
    const b = waiter(await flights[1]!.join('slow', { ...opts, waitMs: 50 }));
    expect(await b.result).toEqual({ kind: 'timeout' });
    const silent = new ClusterFlights(new PrimaryChannel({ connected: true, send: () => true, on: () => undefined }));
    expect((await silent.join('x', opts)).role).toBe('unavailable');
  });
});
