/**
 * SIGHUP with workers (docs/operations.md, "Workers"): the primary checks
 * the new configuration and scripts itself, then reloads the workers one
 * at a time, each once the one before has said it is done. A reload
 * compiles on the worker's event loop (docs/sieve-interpreter.md), so
 * at any moment only one worker's sessions wait for it, where SIGHUP to
 * every worker at once held them all. A configuration that does not load
 * reaches no worker; a worker whose reload fails stops the round, so one
 * `reload` line says why and the other workers keep what runs.
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { type Diagnostic, formatDiagnostic } from '../diagnostics.js';

/** Worker -> primary: its reload is done (ok: the new policy runs). */
const RELOADED = 'smtp-cbv:reloaded';
/** A worker that has not answered in this time is taken as done: the round goes on. */
const RELOAD_WAIT_MS = 120_000;

export interface RollingReloadOptions {
  logger: Logger;
  /** Loads and compiles the configuration as a worker will; its diagnostics. */
  check(): Promise<Diagnostic[]>;
  /** True once the primary is stopping: no further worker is asked. */
  stopping(): boolean;
}

/** The primary's SIGHUP handler: a round over every worker; a SIGHUP during a round makes one more after it. */
export function rollingReload(o: RollingReloadOptions): () => void {
  let rolling = false;
  let again = false;
  const round = async () => {
    const problems = await o.check();
    const errors = problems.filter((d) => d.severity === 'error');
    if (errors.length) {
      o.logger.error({ event: 'reload', ok: false, problems: errors.map((d) => formatDiagnostic(d)) }, 'reload failed; no worker was asked, every one keeps the running configuration');
      return;
    }
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    for (const [i, w] of workers.entries()) {
      if (o.stopping()) return;
      o.logger.info({ event: 'worker-reload', worker: w.id, pid: w.process.pid }, 'reloading a worker');
      if ((await reloadOne(w)) === false) {
        const left = workers.length - i - 1;
        o.logger.error({ event: 'reload-stopped', worker: w.id, left }, 'a worker could not reload; the workers after it were not asked');
        return;
      }
    }
  };
  const run = async () => {
    rolling = true;
    do {
      again = false;
      try {
        await round();
      } catch (e) {
        o.logger.error({ event: 'reload', ok: false, err: (e as Error).message }, 'reload failed');
      }
    } while (again && !o.stopping());
    rolling = false;
  };
  return () => {
    if (rolling) again = true;
    else void run();
  };
}

/** SIGHUP to one worker; resolves with its answer, or undefined when it exited or did not answer in time. */
function reloadOne(w: Worker): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const onMessage = (m: { type?: string; ok?: boolean }) => {
      if (m?.type === RELOADED) done(m.ok === true);
    };
    const onExit = () => done(undefined);
    const timer = setTimeout(() => done(undefined), RELOAD_WAIT_MS);
    function done(ok: boolean | undefined) {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('exit', onExit);
      resolve(ok);
    }
    w.on('message', onMessage);
    w.once('exit', onExit);
    w.process.kill('SIGHUP');
  });
}

/** In a worker: tell the primary this reload is done. */
export function reportReloaded(problems: readonly Diagnostic[]): void {
  process.send?.({ type: RELOADED, ok: !problems.some((d) => d.severity === 'error') });
}
