/**
 * A cluster worker's line to its primary (docs/operations.md, "Workers"):
 * what workers without Redis count together, they count in the primary,
 * over node:cluster's IPC channel. A worker tells (no answer wanted) or
 * asks (and waits for the answer). A channel keeps its messages in order.
 * An answer that does not come within a second, or a channel that is gone
 * (the primary exiting), is replaced by the worker's own answer: a busy
 * primary never holds a session.
 */

/** The primary's answers; each question names its own type. */
const ANSWER = 'smtp-cbv:answer';
const ANSWER_WITHIN_MS = 1000;

interface Answer {
  type: typeof ANSWER;
  seq: number;
  value: unknown;
}

/** What a worker needs of its IPC channel (its `process`). */
export interface WorkerChannel {
  send?(message: unknown): boolean;
  connected?: boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** A question or a notice to the primary: its `type` names who there handles it. */
export interface ToPrimary {
  type: string;
  /** Set on a question: the answer carries it back. */
  seq?: number;
}

export class PrimaryChannel {
  private readonly waiting = new Map<number, (value: unknown) => void>();
  private seq = 0;

  constructor(private readonly channel: WorkerChannel = process) {
    channel.on('message', (m) => {
      const a = m as Partial<Answer> | null;
      if (a?.type !== ANSWER || typeof a.seq !== 'number') return;
      const resolve = this.waiting.get(a.seq);
      this.waiting.delete(a.seq);
      resolve?.(a.value);
    });
  }

  /** Sends without waiting; false when the channel is gone. */
  tell<M extends ToPrimary>(message: M): boolean {
    if (!this.channel.send || this.channel.connected === false) return false;
    try {
      return this.channel.send(message);
    } catch {
      return false;
    }
  }

  /** The primary's answer to `message`, or `own()` when none comes within `withinMs` (a second unless the question waits on purpose). */
  ask<T, M extends ToPrimary = ToPrimary>(message: M, own: () => T, withinMs = ANSWER_WITHIN_MS): Promise<T> {
    const seq = ++this.seq;
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(seq);
        resolve(own());
      }, withinMs);
      timer.unref();
      this.waiting.set(seq, (value) => {
        clearTimeout(timer);
        resolve(value as T);
      });
      if (!this.tell({ ...message, seq })) {
        clearTimeout(timer);
        this.waiting.delete(seq);
        resolve(own());
      }
    });
  }
}

let shared: PrimaryChannel | undefined;
/** This worker process's one line to its primary. */
export function primaryChannel(): PrimaryChannel {
  return (shared ??= new PrimaryChannel());
}

/** The primary's side of a question: the answer, back to the worker that asked. */
export function answer(worker: { send(message: unknown): unknown }, question: ToPrimary, value: unknown): void {
  if (typeof question.seq === 'number') worker.send({ type: ANSWER, seq: question.seq, value } satisfies Answer);
}
