/**
 * A cluster worker's slot and the number of workers (docs/operations.md,
 * "Workers"). The primary sets both in the environment of each worker it
 * starts, and gives a worker started in a dead one's place the dead one's
 * slot; a process that is no cluster worker is slot 0 of 1.
 */
export const SLOT_ENV = 'SMTP_CBV_WORKER_SLOT';
export const WORKERS_ENV = 'SMTP_CBV_WORKERS';

export interface WorkerSlot {
  /** 0 to workers-1. */
  slot: number;
  workers: number;
}

export function workerSlot(env: NodeJS.ProcessEnv = process.env): WorkerSlot {
  const slot = Number(env[SLOT_ENV]);
  const workers = Number(env[WORKERS_ENV]);
  if (Number.isInteger(slot) && Number.isInteger(workers) && workers >= 1 && slot >= 0 && slot < workers) return { slot, workers };
  return { slot: 0, workers: 1 };
}

/**
 * A worker's part of a bound the configuration sets for the whole server
 * (all sessions together): an even share, at least 1. The primary hands
 * connections to the workers in turn, so even shares fill together.
 */
export function shareOf(total: number, workers: number): number {
  return Math.max(1, Math.floor(total / workers));
}
