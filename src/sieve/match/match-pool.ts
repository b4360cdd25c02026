/**
 * A small pool of worker threads for matches over large values. One
 * :regex, :matches or :contains over a 10 MB body is a single call that
 * takes hundreds of milliseconds and cannot be split: on the event loop it
 * would hold every other session that long. In a worker it holds nobody,
 * and the thread can be stopped at any instruction: the pool terminates it
 * when the run's CPU budget is spent, and starts a fresh one for the next
 * match (docs/sieve-interpreter.md, "CPU budget and time slices"). RFC 2047
 * decoding and encoding of one large header value (libmime, a single call
 * as well) run in the same workers (`codec`).
 *
 * Workers are started on first use and kept; an idle worker does not keep
 * the process alive. When a worker cannot be started, or fails, the caller
 * matches on the event loop as it did before.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { decode, encode, type WorkerBytes } from './worker-bytes.js';

/** A value at least this long (in UTF-16 units) is matched in a worker when the run can wait. */
export const OFFLOAD_CHARS = 256 * 1024;

/** What a match asks: one value against keys in order, as the run's match loop would do it. */
export interface MatchTask {
  value: string;
  keys: string[];
  /** The match type's name: contains, matches or regex (the ones marked `offload`). */
  type: string;
  comparator: string;
  wantCaptures: boolean;
}

/**
 * A header value to decode (RFC 2047 encoded-words, as `decodedHeaderValue`
 * does) or to encode (as ec_rfc2047_encode_header does); the answer is
 * the first `keep` characters of the result, all of it without `keep`.
 */
export interface CodecTask {
  op: 'rfc2047-decode' | 'rfc2047-encode';
  value: string;
  keep?: number;
}

/** What a worker is sent: the task with its value as bytes, moved rather than copied (worker-bytes.ts). */
export type WorkerTask = { id: number } & WorkerBytes & (({ kind: 'match' } & Omit<MatchTask, 'value'>) | ({ kind: 'codec' } & Omit<CodecTask, 'value'>));

/** A worker's answer: the index of the first key that matched (-1: none), with its match values; a codec's text. */
export type WorkerAnswer =
  | { id: number; index: number; captures?: string[]; warnings: string[]; ms: number }
  | ({ id: number; ms: number } & WorkerBytes)
  | { id: number; error: string };

/** The pool's answer to a codec task: the worker's text, or the deadline came first, or no worker could do it. */
export type CodecAnswer = { kind: 'done'; text: string; ms: number } | { kind: 'deadline'; ms: number } | { kind: 'unavailable' };

/** The pool's answer: the worker's, or the deadline came first (after `ms`), or no worker could do it. */
export type PoolAnswer =
  | { kind: 'done'; index: number; captures?: string[]; warnings: string[]; ms: number }
  | { kind: 'deadline'; ms: number }
  | { kind: 'unavailable' };

type Job = { kind: 'match'; task: MatchTask } | { kind: 'codec'; task: CodecTask };

interface Pending {
  id: number;
  job: Job;
  deadlineMs: number;
  resolve(a: WorkerAnswer | { kind: 'deadline'; ms: number } | { kind: 'unavailable' }): void;
}

interface Slot {
  worker: Worker;
  current: Pending | undefined;
  timer: NodeJS.Timeout | undefined;
  started: number;
  answered: boolean;
}

/** Two threads at least (one heavy session must not queue another), leaving a core to the event loop on larger machines. */
const SIZE = Math.min(4, Math.max(2, availableParallelism() - 1));

/**
 * Where the worker's code is: next to this file as tsc built it
 * (dist/src/sieve/match/), or next to the CLI bundle (dist/cli/, built by
 * scripts/bundle-cli.mjs as an entry point of its own). Run from the
 * TypeScript sources (the tests), the worker loads them through tsx.
 */
function spawn(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const file = new URL('./match-worker.ts', here).href;
    // tsx's ESM API (its package exports' "./esm/api" import condition); resolve() would give the CommonJS one.
    const tsx = pathToFileURL(join(dirname(createRequire(here).resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href;
    return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); })`, { eval: true });
  }
  // An ES module next to the pool, or a CommonJS bundle of its own next to a CommonJS CLI bundle.
  const file = new URL('./match-worker.js', here);
  return new Worker(existsSync(file) ? file : new URL('./match-worker.cjs', here));
}

class MatchPool {
  private readonly idle: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly slots = new Set<Slot>();
  private nextId = 0;
  /** Matches workers have answered so far (for tests and logs). */
  answers = 0;
  /** Set when a worker failed before its first answer: this process cannot run them, match on the event loop. */
  private broken = false;

  /** How many matches are running in workers now (not counting those queued). */
  get running(): number {
    let n = 0;
    for (const s of this.slots) if (s.current) n++;
    return n;
  }

  /** Matches in a worker; the answer is 'deadline' when it ran `deadlineMs` without finishing (the worker is then stopped). */
  async match(task: MatchTask, deadlineMs: number): Promise<PoolAnswer> {
    const a = await this.submit({ kind: 'match', task }, deadlineMs);
    if ('kind' in a) return a;
    if ('error' in a || !('index' in a)) return { kind: 'unavailable' };
    return { kind: 'done', index: a.index, captures: a.captures, warnings: a.warnings, ms: a.ms };
  }

  /** Decodes or encodes a header value in a worker, stopped as a match is at `deadlineMs`. */
  async codec(task: CodecTask, deadlineMs: number): Promise<CodecAnswer> {
    const a = await this.submit({ kind: 'codec', task }, deadlineMs);
    if ('kind' in a) return a;
    if ('error' in a || !('bytes' in a)) return { kind: 'unavailable' };
    return { kind: 'done', text: decode(a), ms: a.ms };
  }

  private submit(job: Job, deadlineMs: number): Promise<Parameters<Pending['resolve']>[0]> {
    if (this.broken) return Promise.resolve({ kind: 'unavailable' });
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, job, deadlineMs, resolve });
      this.dispatch();
    });
  }

  private dispatch(): void {
    while (this.queue.length) {
      let slot = this.idle.pop();
      if (!slot) {
        if (this.slots.size >= SIZE) return;
        slot = this.start();
        if (!slot) return;
      }
      this.assign(slot, this.queue.shift()!);
    }
  }

  private start(): Slot | undefined {
    let worker: Worker;
    try {
      worker = spawn();
    } catch {
      this.fail();
      return undefined;
    }
    const slot: Slot = { worker, current: undefined, timer: undefined, started: 0, answered: false };
    this.slots.add(slot);
    worker.on('message', (a: WorkerAnswer) => this.answered(slot, a));
    worker.on('error', () => this.lost(slot));
    worker.on('exit', () => this.lost(slot));
    return slot;
  }

  private assign(slot: Slot, p: Pending): void {
    slot.current = p;
    slot.started = performance.now();
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      // The run's budget is spent: stop the thread wherever it is.
      slot.current = undefined;
      this.drop(slot);
      void slot.worker.terminate();
      p.resolve({ kind: 'deadline', ms: performance.now() - slot.started });
      this.dispatch();
    }, Math.max(0, p.deadlineMs));
    const { value, ...rest } = p.job.task;
    const sent = { ...rest, kind: p.job.kind, id: p.id, ...encode(value) } as WorkerTask;
    slot.worker.postMessage(sent, [sent.bytes]);
  }

  private answered(slot: Slot, a: WorkerAnswer): void {
    const p = slot.current;
    if (!p || p.id !== a.id) return;
    clearTimeout(slot.timer);
    slot.answered = true;
    slot.current = undefined;
    slot.worker.unref();
    this.idle.push(slot);
    if (!('error' in a)) this.answers++;
    p.resolve(a);
    this.dispatch();
  }

  /** The worker died (or did not start): its task is matched on the event loop instead. */
  private lost(slot: Slot): void {
    if (!this.drop(slot)) return; // stopped at a deadline: already forgotten
    clearTimeout(slot.timer);
    const p = slot.current;
    slot.current = undefined;
    if (!slot.answered) this.fail();
    p?.resolve({ kind: 'unavailable' });
    this.dispatch();
  }

  /** Forgets a worker; false when it was already forgotten. */
  private drop(slot: Slot): boolean {
    if (!this.slots.delete(slot)) return false;
    const i = this.idle.indexOf(slot);
    if (i >= 0) this.idle.splice(i, 1);
    return true;
  }

  private fail(): void {
    this.broken = true;
    for (const p of this.queue.splice(0)) p.resolve({ kind: 'unavailable' });
  }
}

export const matchPool = new MatchPool();
