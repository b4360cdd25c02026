/**
 * How a long-running subcommand lives: until SIGTERM or SIGINT, which stop
 * it gracefully (work in progress may finish for the drain time); SIGHUP
 * reloads the configuration and scripts.
 */
import type { Logger } from 'pino';
import type { Diagnostic } from '../diagnostics.js';

export interface Stoppable {
  logger: Logger;
  stop(deadlineMs: number): Promise<void>;
  reload(): Promise<Diagnostic[]>;
}

/** `reloaded`: told each reload's diagnostics (a cluster worker tells its primary, src/ops/rolling-reload.ts). */
export async function runUntilSignal(running: Stoppable, drainMs: number, reloaded?: (problems: Diagnostic[]) => void): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      running.logger.info({ event: 'signal', signal, drainMs }, `${signal}: stopping`);
      void running.stop(drainMs).then(resolve);
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      running.logger.info({ event: 'signal', signal: 'SIGHUP' }, 'SIGHUP: reloading');
      void running.reload().then(
        (problems) => reloaded?.(problems),
        (e: unknown) => reloaded?.([{ severity: 'error', message: String(e), line: 1, column: 1, offset: 0 }]),
      );
    });
  });
  running.logger.flush?.();
}
