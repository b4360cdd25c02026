/**
 * The server's Prometheus metrics (prom-client), one registry per process.
 * docs/operations.md has the table of every metric; keep the two in step.
 *
 * The metrics are fed by hooks, never by parsing logs: the session
 * observer (every reply and transaction), the policy observer (Sieve
 * actions and runtime errors), the CBV engine observer (verdicts, probes,
 * joins, limits), and gauges read at scrape time (open connections,
 * `ec_inc_counter` counters, Redis state, the delivery queue when there is
 * one). With workers, each worker keeps its registry and the primary sums
 * them (cluster.ts).
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CbvObserver } from '../cbv/shared.js';
import type { PolicyObserver } from '../session/policy.js';
import type { SessionObserver } from '../session/session.js';
import type { DuplicateStore } from '../store/duplicates.js';

/** What a delivery queue tells the metrics: read at scrape time. */
export interface QueueMetricsSource {
  /** Messages waiting, by state (e.g. `{ active: 3, deferred: 12 }`). */
  depth(): Record<string, number> | Promise<Record<string, number>>;
}

const P = 'smtpcbv_';

export class Metrics {
  readonly registry = new Registry();
  private readonly readers: Array<() => number> = [];

  readonly connections = new Counter({ name: `${P}connections_total`, help: 'SMTP connections accepted by the listeners.', registers: [this.registry] });
  private readonly connectionsOpen: Gauge = new Gauge({
    name: `${P}connections_open`,
    help: 'SMTP connections open now.',
    registers: [this.registry],
    collect: () => {
      this.connectionsOpen.set(this.readers.reduce((n, r) => n + r(), 0));
    },
  });
  readonly replies = new Counter({ name: `${P}smtp_replies_total`, help: 'SMTP replies given, by phase and reply code.', labelNames: ['phase', 'code'], registers: [this.registry] });
  readonly transactions = new Counter({ name: `${P}transactions_total`, help: 'Mail transactions ended, by outcome (accepted, refused, reset, closed).', labelNames: ['outcome'], registers: [this.registry] });
  readonly sieveActions = new Counter({ name: `${P}sieve_actions_total`, help: 'Sieve actions taken by the policy scripts, by phase and action.', labelNames: ['phase', 'action'], registers: [this.registry] });
  readonly sieveErrors = new Counter({ name: `${P}sieve_runtime_errors_total`, help: 'Sieve script runs that ended in a runtime error, by phase.', labelNames: ['phase'], registers: [this.registry] });
  readonly cbvVerdicts = new Counter({ name: `${P}cbv_verdicts_total`, help: 'CBV verdicts, by status and reason (cache hits and joined checks included).', labelNames: ['status', 'reason'], registers: [this.registry] });
  readonly cbvCacheHits = new Counter({ name: `${P}cbv_cache_hits_total`, help: 'CBV checks answered from the cache.', registers: [this.registry] });
  readonly cbvProbes = new Histogram({
    name: `${P}cbv_probe_duration_seconds`,
    help: 'Duration of CBV probes that ran (DNS and SMTP), by reason.',
    labelNames: ['reason'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly cbvJoins = new Counter({ name: `${P}cbv_single_flight_joins_total`, help: 'CBV checks that waited for a probe already running, in this process or another (scope).', labelNames: ['scope'], registers: [this.registry] });
  readonly cbvLimited = new Counter({ name: `${P}cbv_rate_limited_total`, help: 'CBV probes refused by a limit, by which.', labelNames: ['limit'], registers: [this.registry] });
  readonly recipientVerdicts = new Counter({ name: `${P}recipient_verify_verdicts_total`, help: 'Recipient call-ahead verdicts, by status, reason and whether the cache answered.', labelNames: ['status', 'reason', 'cached'], registers: [this.registry] });
  private readonly counterMaps: Array<ReadonlyMap<string, number>> = [];
  private readonly sieveCounters: Gauge<'name'> = new Gauge({
    name: `${P}sieve_counter`,
    help: 'Counters kept by the policy with ec_inc_counter, by name.',
    labelNames: ['name'],
    registers: [this.registry],
    collect: () => {
      this.sieveCounters.reset();
      for (const counters of this.counterMaps) for (const [name, n] of counters) this.sieveCounters.inc({ name }, n);
    },
  });
  private queues: QueueMetricsSource[] = [];
  private readonly queueDepth: Gauge<'state'> = new Gauge({
    name: `${P}queue_depth`,
    help: 'Messages in the delivery queue, by state (when a queue is configured).',
    labelNames: ['state'],
    registers: [this.registry],
    collect: async () => {
      this.queueDepth.reset();
      for (const q of this.queues) for (const [state, n] of Object.entries(await q.depth())) this.queueDepth.inc({ state }, n);
    },
  });
  readonly duplicateTests = new Counter({ name: `${P}duplicate_tests_total`, help: 'RFC 7352 duplicate tests answered by the duplicate list, by answer (duplicate or new).', labelNames: ['result'], registers: [this.registry] });
  readonly duplicatesRecorded = new Counter({ name: `${P}duplicate_ids_recorded_total`, help: 'Ids the duplicate list recorded or refreshed, once their transaction was carried out.', registers: [this.registry] });
  readonly deliveries = new Counter({ name: `${P}delivery_outcomes_total`, help: 'Delivery attempts, by outcome (when a queue is configured).', labelNames: ['outcome'], registers: [this.registry] });

  /** Prometheus text of this process's metrics (the gauges read their sources now). */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Open connections, read at scrape time (one reader per front door; they add up). */
  watchConnections(open: () => number): void {
    this.readers.push(open);
  }

  /** ec_inc_counter's counters (SessionServices.counters). */
  watchSieveCounters(counters: ReadonlyMap<string, number>): void {
    this.counterMaps.push(counters);
  }

  /** Only a process with Redis configured has the gauge. */
  watchRedis(up: () => boolean): void {
    const gauge: Gauge = new Gauge({
      name: `${P}redis_up`,
      help: '1 while the shared Redis is reachable, 0 while local state is used; absent without Redis.',
      registers: [this.registry],
      aggregator: 'min',
      collect: () => {
        gauge.set(up() ? 1 : 0);
      },
    });
  }

  /** The hook for a delivery queue: its depth is read at scrape time; outcomes go to `delivered`. */
  attachQueue(source: QueueMetricsSource): void {
    this.queues.push(source);
  }

  /** One delivery attempt's outcome (e.g. delivered, deferred, bounced). */
  delivered(outcome: string): void {
    this.deliveries.inc({ outcome });
  }

  sessionObserver(): SessionObserver {
    return {
      connection: (event) => {
        if (event === 'open') this.connections.inc();
      },
      phase: (o) => this.replies.inc({ phase: o.phase, code: String(o.reply.code) }),
      transaction: (outcome) => this.transactions.inc({ outcome }),
    };
  }

  policyObserver(): PolicyObserver {
    return {
      script: ({ phase, result }) => {
        if (result.errors.length) {
          this.sieveErrors.inc({ phase });
          return;
        }
        for (const a of result.actions) this.sieveActions.inc({ phase, action: a.type });
        if (result.implicitKeep) this.sieveActions.inc({ phase, action: 'implicit-keep' });
      },
    };
  }

  cbvObserver(): CbvObserver {
    return {
      verdict: (v) => {
        this.cbvVerdicts.inc({ status: v.status, reason: v.reason });
        if (v.cached) this.cbvCacheHits.inc();
      },
      probed: (ms, reason) => this.cbvProbes.observe({ reason }, ms / 1000),
      joined: (scope) => this.cbvJoins.inc({ scope }),
      limited: (why) => this.cbvLimited.inc({ limit: why }),
    };
  }

  /** The duplicate list (src/store/duplicates.ts), counted: what scripts asked of it and what transactions recorded. */
  countedDuplicates(list: DuplicateStore): DuplicateStore {
    const answered = (seen: boolean) => {
      this.duplicateTests.inc({ result: seen ? 'duplicate' : 'new' });
      return seen;
    };
    return {
      seen: (id) => {
        const seen = list.seen(id);
        return typeof seen === 'boolean' ? answered(seen) : seen.then(answered);
      },
      record: (records) => {
        list.record(records);
        this.duplicatesRecorded.inc(records.length);
      },
    };
  }

  /** The recipient call-ahead's engine (docs/recipient-verification.md): its verdicts, apart from the sender CBV's. */
  recipientVerifyObserver(): CbvObserver {
    return { verdict: (v) => this.recipientVerdicts.inc({ status: v.status, reason: v.reason, cached: v.cached ? 'true' : 'false' }) };
  }
}
