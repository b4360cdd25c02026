/**
 * `workers = N` (docs/operations.md, "Workers"): a primary process and N
 * workers on node:cluster. Node 20 has no `reusePort`, so the cluster
 * module's primary holds each listening socket and hands connections to
 * the workers in turn; a worker that dies takes only its own sessions with
 * it, and the listener keeps answering through the others.
 *
 * The primary serves no SMTP. It:
 * - cleans the spool's crash leftovers once, before any worker writes
 *   (`serve`; the front doors beside an MTA, `milter` and `policy`, keep
 *   no spool and have no ops listener: docs/postfix.md, "Workers");
 * - on SIGHUP checks the configuration, then reloads the workers one at a
 *   time (rolling-reload.ts); forwards SIGTERM/SIGINT (every worker
 *   drains, then the primary exits);
 * - replaces a worker that exits unasked, waiting longer after each quick
 *   death so a worker that cannot start does not spin;
 * - serves /metrics (the registries of the workers that are listening,
 *   summed by prom-client's AggregatorRegistry.aggregate, plus its own),
 *   /healthz and /readyz. It asks only listening workers, and waits for
 *   each at most SCRAPE_WAIT_MS, so a worker still starting or just dead
 *   does not stall the scrape.
 * Each worker runs the ordinary server (src/server/run.ts) without the
 * spool clean-up and without the ops listener.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, Counter, Gauge, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];
import type { Config } from '../config/types.js';
import type { Diagnostic } from '../diagnostics.js';
import { rollingReload } from './rolling-reload.js';
import { MaildirSpool } from '../delivery/maildir.js';
import { ADOPT_ENV } from '../delivery/spool-writer.js';
import { SLOT_ENV, WORKERS_ENV } from './worker-slot.js';
import { primaryState } from '../store/primary-state.js';
import { recoverSpool } from '../server/spool-recovery.js';
import { duplicatesFile, redisSettings } from '../store/index.js';
import { RedisLink } from '../store/redis-link.js';
import { Readiness } from './health.js';
import { startOpsServer } from './http.js';
import type { Metrics } from './metrics.js';

/** Worker -> primary: its listeners are up. */
const LISTENING = 'smtp-cbv:listening';
/** Primary -> worker: send your metrics; worker -> primary: here they are. */
const METRICS = 'smtp-cbv:metrics';
/** A worker that does not answer a scrape in this time is left out of it. */
const SCRAPE_WAIT_MS = 2000;

export interface PrimaryOptions {
  workers: number;
  config: Config;
  drainMs: number;
  logger: Logger;
  /** `serve` (the default) recovers the spool first and serves the ops listener; the front doors beside an MTA do neither. */
  kind?: 'serve' | 'beside';
  /** At SIGHUP: loads and compiles the configuration as a worker will (rolling-reload.ts). */
  checkReload(): Promise<Diagnostic[]>;
}

/** Runs the primary until every worker has drained after SIGTERM/SIGINT. */
export async function runPrimary(o: PrimaryOptions): Promise<void> {
  const { logger, config } = o;
  let stopping = false;
  const listening = new Set<number>();
  const readiness = new Readiness({
    spoolDir: config.spoolDir,
    extra: () => (listening.size === 0 ? 'no worker listening' : undefined),
  });
  // Signals first: a SIGHUP or SIGTERM during start-up must not kill the primary.
  let stopped!: () => void;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    readiness.draining = true;
    logger.info({ event: 'signal', signal, drainMs: o.drainMs }, `${signal}: draining every worker`);
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    if (!alive.length) return stopped();
    let left = alive.length;
    for (const w of alive) {
      w.once('exit', () => --left === 0 && stopped());
      w.process.kill('SIGTERM');
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const reloadRound = rollingReload({ logger, check: o.checkReload, stopping: () => stopping });
  process.on('SIGHUP', () => {
    logger.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: the workers reload one at a time');
    reloadRound();
  });

  const serve = (o.kind ?? 'serve') === 'serve';
  if (serve) await recoverSpool(new MaildirSpool(config.spoolDir), config.spoolDir, logger);

  const own = new Registry();
  const restarts = new Counter({ name: 'smtpcbv_worker_restarts_total', help: 'Workers replaced after they exited unasked.', registers: [own] });
  const workersUp: Gauge = new Gauge({
    name: 'smtpcbv_workers_listening',
    help: 'Workers whose listeners are up.',
    registers: [own],
    collect: () => {
      workersUp.set(listening.size);
    },
  });
  const settings = redisSettings(config);
  const link = serve && settings?.required ? new RedisLink({ ...settings, logger }) : undefined;
  if (link) readiness.redisUp = () => link.up;
  const ops = serve && config.metrics
    ? await startOpsServer(config.metrics.host, config.metrics.port, {
        metrics: async () => ({ contentType: own.contentType, body: `${await scrape(listening)}\n${await own.metrics()}` }),
        notReady: () => readiness.problems(),
      }, logger)
    : undefined;

  let announced = false;
  const startedAt = new Map<number, number>();
  let quickDeaths = 0;
  // Workers that died, whose envelope journals nobody appends to any more: the next worker started
  // compacts them (its spool writer takes them as its own closed journals), so they do not wait for
  // the next start of the whole server. Each dead pid goes to one worker, with what it had taken over.
  let orphanPids: number[] = [];
  const adoptedBy = new Map<number, number[]>();
  // Each worker's slot, 0 to workers-1: its share of the delivery queue (docs/delivery.md, "Workers").
  // A worker started in a dead one's place gets its slot, and so its queue entries.
  const slotOf = new Map<number, number>();
  // What the workers share when Redis does not keep it (src/store/primary-state.ts).
  const shared = primaryState(o.config.smtpCbv?.cache.size ?? 10_000, { duplicatesFile: duplicatesFile(o.config), logger, throttles: o.config.sivThrottleCacheSize });
  const fork = (slot: number) => {
    const adopt = orphanPids;
    orphanPids = [];
    const w = cluster.fork({ [SLOT_ENV]: String(slot), [WORKERS_ENV]: String(o.workers), ...(adopt.length ? { [ADOPT_ENV]: adopt.join(',') } : {}) });
    slotOf.set(w.id, slot);
    adoptedBy.set(w.id, adopt);
    startedAt.set(w.id, Date.now());
    w.on('message', (m: { type?: string; addresses?: unknown }) => {
      if (shared.handle(w, m)) return;
      if (m?.type !== LISTENING) return;
      listening.add(w.id);
      logger.info({ event: 'worker-listening', worker: w.id, pid: w.process.pid, slot }, 'worker listening');
      if (!announced && listening.size === o.workers) {
        announced = true;
        logger.info({ event: 'listening', listeners: m.addresses, workers: o.workers }, 'listening');
      }
    });
  };
  cluster.on('exit', (w: Worker, code: number | null, signal: string | null) => {
    listening.delete(w.id);
    const lived = Date.now() - (startedAt.get(w.id) ?? Date.now());
    startedAt.delete(w.id);
    if (w.process.pid) orphanPids.push(w.process.pid, ...(adoptedBy.get(w.id) ?? []));
    adoptedBy.delete(w.id);
    const slot = slotOf.get(w.id) ?? 0;
    slotOf.delete(w.id);
    shared.forget(w.id);
    if (stopping) return;
    quickDeaths = lived < 5000 ? quickDeaths + 1 : 0;
    const delayMs = Math.min(10_000, quickDeaths > 1 ? 250 * 2 ** (quickDeaths - 2) : 0);
    restarts.inc();
    logger.error({ event: 'worker-exit', worker: w.id, pid: w.process.pid, code, signal, restartInMs: delayMs }, 'worker exited; starting another');
    setTimeout(() => !stopping && fork(slot), delayMs);
  });
  if (!stopping) for (let slot = 0; slot < o.workers; slot++) fork(slot);
  else stopped();

  await done;
  await ops?.close();
  await link?.close();
  logger.info({ event: 'stopped', workers: o.workers }, 'stopped');
}

let scrapeId = 0;

/** The listening workers' metrics, summed (counters and gauges add up; redis_up takes the minimum). */
async function scrape(listening: ReadonlySet<number>): Promise<string> {
  const id = ++scrapeId;
  const workers = [...listening].map((w) => cluster.workers?.[w]).filter((w): w is Worker => !!w && w.isConnected());
  const answers = await Promise.all(
    workers.map(
      (w) =>
        new Promise<MetricsJson | undefined>((resolve) => {
          const onMessage = (m: { type?: string; id?: number; metrics?: MetricsJson }) => {
            if (m?.type === METRICS && m.id === id) done(m.metrics);
          };
          const t = setTimeout(() => done(undefined), SCRAPE_WAIT_MS);
          function done(v: MetricsJson | undefined) {
            clearTimeout(t);
            w.off('message', onMessage);
            resolve(v);
          }
          w.on('message', onMessage);
          w.send({ type: METRICS, id }, (err: Error | null) => err && done(undefined));
        }),
    ),
  );
  return AggregatorRegistry.aggregate(answers.filter((a): a is MetricsJson => !!a)).metrics();
}

/** In a worker: answer the primary's scrapes with this process's registry. */
export function shareWorkerMetrics(metrics: Metrics): void {
  process.on('message', (m: { type?: string; id?: number }) => {
    if (m?.type !== METRICS) return;
    metrics.registry.getMetricsAsJSON().then(
      (json) => process.send?.({ type: METRICS, id: m.id, metrics: json }),
      () => process.send?.({ type: METRICS, id: m.id, metrics: [] }),
    );
  });
}

/** In a worker: tell the primary the listeners are up. */
export function reportListening(addresses: Array<{ host: string; port: number }>): void {
  process.send?.({ type: LISTENING, addresses });
}
