/**
 * Momentum's inbound audit series (3-reference-modules-inbound-audit.md, in
 * docs/momentum-compatibility.md): connections, receptions and rejections
 * per client address, recorded as sessions happen, so that the Sieve++
 * functions ec_ip_connections, ec_ip_receptions and ec_ip_rejections count
 * something when served. With Redis the series are the cluster's.
 */
import type { Phase } from '../session/phases.js';
import type { PhaseOutcome, SessionObserver } from '../session/session.js';
import type { ConnectionState } from '../session/state.js';
import { type CounterStore, SERIES } from '../sievepp/counters.js';

export function inboundAudit(counters: CounterStore, now: () => number = Date.now): SessionObserver {
  // Fire and forget: a store held here counts at once, and a shared one's promise is caught (a count that failed must not end the process).
  const record = (series: string, c: ConnectionState) => {
    const added = counters.add(series, c.remoteAddress, 1, now());
    if (added) added.catch(() => undefined);
  };
  return {
    // Counted as it arrives: a connect-phase script sees its own connection in the series.
    connection(event, c) {
      if (event === 'open') record(SERIES.connections, c);
    },
    phase(o: PhaseOutcome, c: ConnectionState) {
      if (!o.accepted) record(SERIES.rejections, c);
      else if (o.phase === ('data' satisfies Phase)) record(SERIES.receptions, c);
    },
  };
}

/** Several observers as one: each is told everything, in order. */
export function allObservers(...observers: Array<SessionObserver | undefined>): SessionObserver {
  const list = observers.filter((o): o is SessionObserver => o !== undefined);
  return {
    connection: (event, connection) => list.forEach((o) => o.connection?.(event, connection)),
    phase: (outcome, connection) => list.forEach((o) => o.phase?.(outcome, connection)),
    transaction: (outcome) => list.forEach((o) => o.transaction?.(outcome)),
  };
}
