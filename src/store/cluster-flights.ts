/**
 * Single flight across the workers of one server when no Redis is
 * configured (docs/operations.md, "Workers"): one probe per address at a
 * time for the whole server, arranged in the primary (primary-channel.ts),
 * as RedisFlights arranges it in Redis.
 *
 * - The first worker to ask about a key owns its flight until it hands in
 *   the verdict or gives up, or until the lock's time to live passes.
 * - The others wait: their question is answered when the owner hands in the
 *   verdict (`verdict`), gives up or dies (`retry`: ask again), and a
 *   verdict handed in stays a while for a waiter whose question was late.
 * - A worker whose primary does not answer the join in time is told
 *   `unavailable`, and probes for itself.
 *
 * The primary's half is FlightTally.
 */
import type { FlightTicket, FlightWait, ProbeFlights, SharedVerdict } from '../cbv/shared.js';
import { answer, type PrimaryChannel, primaryChannel } from './primary-channel.js';

const FLIGHTS = 'smtp-cbv:flights';
/** How long a handed-in verdict answers late waiters (as RedisFlights keeps it). */
const RESULT_TTL_MS = 30_000;

type FlightMessage =
  | { type: typeof FLIGHTS; op: 'join'; key: string; lockTtlMs: number; seq?: number }
  | { type: typeof FLIGHTS; op: 'wait'; key: string; token: number; seq?: number }
  | { type: typeof FLIGHTS; op: 'done'; key: string; token: number; verdict: SharedVerdict }
  | { type: typeof FLIGHTS; op: 'abandon'; key: string; token: number };

type JoinAnswer = { role: 'owner' | 'waiter'; token: number };

export class ClusterFlights implements ProbeFlights {
  constructor(private readonly primary: PrimaryChannel = primaryChannel()) {}

  async join(key: string, opts: { lockTtlMs: number; waitMs: number }): Promise<FlightTicket> {
    const r = await this.primary.ask<JoinAnswer | undefined, FlightMessage>({ type: FLIGHTS, op: 'join', key, lockTtlMs: opts.lockTtlMs }, () => undefined);
    if (!r) return { role: 'unavailable' };
    const { token } = r;
    if (r.role === 'owner') {
      return {
        role: 'owner',
        done: async (verdict: SharedVerdict) => void this.primary.tell<FlightMessage>({ type: FLIGHTS, op: 'done', key, token, verdict }),
        abandon: async () => void this.primary.tell<FlightMessage>({ type: FLIGHTS, op: 'abandon', key, token }),
      };
    }
    const timeout: FlightWait = { kind: 'timeout' };
    return { role: 'waiter', result: this.primary.ask<FlightWait, FlightMessage>({ type: FLIGHTS, op: 'wait', key, token }, () => timeout, Math.max(0, opts.waitMs)) };
  }
}

interface Flight {
  token: number;
  owner: number;
  expiresAt: number;
  waiters: Array<{ worker: { id: number; send(message: unknown): unknown }; question: FlightMessage }>;
}

/** The primary's side: who probes which key now, who waits for it, and the verdicts lately handed in. */
export class FlightTally {
  private readonly flights = new Map<string, Flight>();
  /** token -> verdict and when it stops answering late waiters. */
  private readonly results = new Map<number, { verdict: SharedVerdict; until: number }>();
  private nextToken = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Handles a worker's message if it is about single flight; returns whether it was. */
  handle(worker: { id: number; send(message: unknown): unknown }, message: unknown): boolean {
    const m = message as FlightMessage | null;
    if (m?.type !== FLIGHTS) return false;
    const now = this.now();
    const flight = this.flights.get(m.key);
    switch (m.op) {
      case 'join': {
        this.dropLapsed(now);
        const current = this.flights.get(m.key);
        if (current && current.expiresAt > now) {
          answer(worker, m, { role: 'waiter', token: current.token } satisfies JoinAnswer);
          break;
        }
        // A lock that outlived its time to live: its owner is gone, its waiters ask again.
        if (current) this.end(m.key, current, { kind: 'retry' });
        const token = ++this.nextToken;
        this.flights.set(m.key, { token, owner: worker.id, expiresAt: now + m.lockTtlMs, waiters: [] });
        answer(worker, m, { role: 'owner', token } satisfies JoinAnswer);
        break;
      }
      case 'wait': {
        const result = this.results.get(m.token);
        if (result && result.until > now) answer(worker, m, { kind: 'verdict', verdict: result.verdict } satisfies FlightWait);
        else if (flight?.token === m.token && flight.expiresAt > now) flight.waiters.push({ worker, question: m });
        else answer(worker, m, { kind: 'retry' } satisfies FlightWait);
        break;
      }
      case 'done':
        if (flight?.token !== m.token) break;
        this.results.set(m.token, { verdict: m.verdict, until: now + RESULT_TTL_MS });
        this.end(m.key, flight, { kind: 'verdict', verdict: m.verdict });
        break;
      case 'abandon':
        if (flight?.token === m.token) this.end(m.key, flight, { kind: 'retry' });
        break;
    }
    return true;
  }

  /** A worker is gone: its flights end (their waiters ask again) and its waits with it. */
  forget(workerId: number): void {
    for (const [key, flight] of this.flights) {
      if (flight.owner === workerId) this.end(key, flight, { kind: 'retry' });
      else flight.waiters = flight.waiters.filter((w) => w.worker.id !== workerId);
    }
  }

  /** Keys being probed now (for tests). */
  get size(): number {
    return this.flights.size;
  }

  private end(key: string, flight: Flight, outcome: FlightWait): void {
    this.flights.delete(key);
    for (const w of flight.waiters) answer(w.worker, w.question, outcome);
  }

  /**
   * Results past their time and flights past their lock's (a crashed
   * owner's flight, a verdict nobody asked for). Both maps are in the order
   * of their times (one time to live for all), so the look stops at the
   * first that is still good: a join costs no walk over every flight.
   */
  private dropLapsed(now: number): void {
    for (const [token, r] of this.results) {
      if (r.until > now) break;
      this.results.delete(token);
    }
    for (const [key, flight] of this.flights) {
      if (flight.expiresAt > now) break;
      this.end(key, flight, { kind: 'retry' });
    }
  }
}
