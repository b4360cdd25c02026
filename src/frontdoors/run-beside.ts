/**
 * A running front door beside an MTA (`smtp-cbv policy`, `smtp-cbv milter`)
 * built from a configuration file: the same policy, services and reload as
 * `serve` (src/server), a store that stores nothing (the MTA keeps the
 * mail), and deadlines cut to what the MTA waits for (docs/postfix.md,
 * "Timeouts").
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type BesideMtaConfig, type Config, loadConfig } from '../config/index.js';
import { type Diagnostic, formatDiagnostic } from '../diagnostics.js';
import { assemble } from '../server/assemble.js';
import { createLogger } from '../server/logger.js';
import { reload, sieveLogger } from '../server/reload.js';
import { createServices, type ServerServices } from '../server/services.js';
import { tuneHeap } from '../server/heap-tuning.js';
import { warmUp } from '../server/warm-up.js';
import { shareOf, workerSlot } from '../ops/worker-slot.js';
import type { SievePolicy } from '../session/policy.js';
import type { SessionDeps } from '../session/session.js';
import { keptByMta } from './beside-mta.js';
import { createMilterFront } from './milter/milter-front.js';
import { createPolicyFront } from './policy/policy-front.js';
import type { TcpFront } from './tcp-front.js';
import { matchPool } from '../sieve/match/match-pool.js';

export type BesideKind = 'policy' | 'milter';

export interface BesideOptions {
  /** Overrides the configuration's listen address. */
  listen?: { host: string; port: number };
  /** A logger to use instead of the configured one (tests). */
  logger?: Logger;
  /** A cluster worker's id, added to every log line. */
  workerId?: number;
}

export interface RunningBeside {
  address: { host: string; port: number };
  logger: Logger;
  services: ServerServices;
  front: TcpFront;
  reload(): Promise<Diagnostic[]>;
  stop(deadlineMs?: number): Promise<void>;
}

/**
 * The milter's directory for large messages while their data phase runs
 * (docs/postfix.md, "Large messages"): `spool_dir`/milter, emptied of what
 * a process that is gone left there (a crash mid-message); files are named
 * with the process id that writes them (incoming-message.ts).
 */
async function milterSpool(spoolDir: string): Promise<string> {
  const dir = join(spoolDir, 'milter');
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(dir)) {
    const written = /^incoming\.(\d+)\./.exec(name);
    if (!written) continue;
    const pid = Number(written[1]);
    if (pid === process.pid || !alive(pid)) await rm(join(dir, name), { force: true });
  }
  return dir;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, as another user's process.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Idle MTA connections are closed after this; Postfix reconnects (its own idle limits are lower). */
const IDLE_TIMEOUT_MS = 10 * 60_000;

/**
 * The configuration as this front door applies it: the CBV deadline and
 * the longest tarpit never exceed the front door's deadline, so a probe
 * never outlives the MTA's wait for our answer.
 */
export function withDeadline(config: Config, deadlineMs: number): Config {
  const cbv = config.smtpCbv;
  return {
    ...config,
    server: { ...config.server, maxTarpitMs: Math.min(config.server.maxTarpitMs, deadlineMs) },
    smtpCbv: cbv ? { ...cbv, timeoutMs: Math.min(cbv.timeoutMs, deadlineMs) } : null,
  };
}

export async function startBeside(kind: BesideKind, configFile: string, options: BesideOptions = {}): Promise<{ running: RunningBeside | null; diagnostics: Diagnostic[] }> {
  tuneHeap();
  const loaded = await loadConfig(configFile);
  if (!loaded.config) return { running: null, diagnostics: loaded.diagnostics };
  const settings: BesideMtaConfig = loaded.config[kind];
  const adjust = (c: Config) => withDeadline(c, c[kind].deadlineMs);
  const config = adjust(loaded.config);
  const base = options.logger ?? createLogger(config.logging);
  const logger = options.workerId !== undefined ? base.child({ worker: options.workerId }) : base;
  const { assembled, diagnostics } = await assemble(config);
  const all = [...loaded.diagnostics, ...diagnostics];
  if (!assembled) return { running: null, diagnostics: all };
  for (const d of all) logger.warn({ event: 'config-warning' }, formatDiagnostic(d));

  const services = createServices(config, sieveLogger(logger, config), keptByMta);
  let policy: SievePolicy = assembled.policy;
  const deps: SessionDeps = { policy: () => policy, services };
  const listen = options.listen ?? { host: settings.host, port: settings.port };
  // Under workers each takes its share of the bounds set for the whole server (docs/postfix.md, "Workers").
  const { workers } = workerSlot();
  const common = { ...listen, hostname: config.server.hostname ?? osHostname(), context: settings.context, deadlineMs: settings.deadlineMs, idleTimeoutMs: IDLE_TIMEOUT_MS, maxConnections: shareOf(settings.maxConnections, workers), logger };
  let closeSessions = () => {};
  let front: TcpFront;
  if (kind === 'milter') {
    const m = config.milter;
    const incomingDir = await milterSpool(config.spoolDir);
    front = createMilterFront({ ...common, maxMessageSize: m.maxMessageSize, maxMessageMemory: shareOf(m.maxMessageMemory, workers), messageInMemoryLimit: m.messageSpoolThreshold, incomingDir }, deps);
  } else {
    const policyFront = createPolicyFront({ ...common, maxSessions: 10_000, sessionIdleMs: IDLE_TIMEOUT_MS }, deps);
    front = policyFront.front;
    closeSessions = () => policyFront.delegation.closeAll();
  }
  // Before the first session, not under its first message (src/server/warm-up.ts).
  warmUp(assembled.policy.scripts(), config);
  const address = await front.start();
  // The match worker threads start now, not under the first large message (docs/sieve-interpreter.md, "What an offload costs").
  matchPool.warm();
  return {
    running: {
      address,
      logger,
      services,
      front,
      reload: () => reload({ configFile, logger, services, swap: (p) => (policy = p), adjust }),
      stop: async (deadlineMs = 30_000) => {
        await front.close(deadlineMs);
        closeSessions();
        await services.close(); // the Redis connections, when configured
      },
    },
    diagnostics: all,
  };
}
