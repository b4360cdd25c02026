/**
 * A small pool of worker threads for matches over large values. One
 * :regex, :matches or :contains over a 10 MB body is a single call that
 * takes hundreds of milliseconds and cannot be split: on the event loop it
 * would hold every other session that long. In a worker it holds nobody,
 * and the thread can be stopped at any instruction: the pool terminates it
 * when the run's CPU budget is spent, and starts a fresh one at once for
 * the next match (docs/sieve-interpreter.md, "CPU budget and time slices").
 *
 * An offload costs the run its round trip: from the hand-off to the answer
 * on this thread (the worker's match, posting and reading the answer, the
 * threads' wake-ups), not the wait in the queue nor a thread's start-up.
 * The run's deadline counts the same span, so a match that outruns the
 * budget is stopped where the budget ends (docs/sieve-interpreter.md, "What
 * an offload costs"). RFC 2047 decoding and encoding of one large header
 * value (libmime, a single call as well), the parse of a large address
 * list (`codec`), and the address test over a large field, parse and match
 * (`address`, address-match.ts), run in the same workers, charged the same way.
 *
 * Workers are started on first use and kept; an idle worker does not keep
 * the process alive. When a worker cannot be started, or fails, the caller
 * matches on the event loop as it did before.
 *
 * Each worker's heap is bounded (WORKER_HEAP_MB): without a bound V8 lets a
 * thread grow to the process's own limit, several gigabytes here, and a
 * match that needs that much would take every session's memory with it.
 * A match that runs out of it is stopped like one over budget, and its run
 * fails with a runtime error: the event loop, with no more memory to give,
 * does not try it again (docs/sieve-interpreter.md, "Memory of the match
 * workers").
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Worker } from 'node:worker_threads';
import type { CodecOp } from '../runtime/codec-ops.js';
import type { AddressMatchAnswer, AddressMatchSpec } from './address-match.js';
import { matchKind, OffloadCosts } from './offload-costs.js';
import { decode, encode, type WorkerBytes } from './worker-bytes.js';
import { SieveLimitExceeded, type SieveRuntimeFailure } from '../runtime/signals.js';

/** A value at least this long (in UTF-16 units) is matched in a worker when the run can wait. */
export const OFFLOAD_CHARS = 256 * 1024;

/**
 * The old generation of each worker's heap, in MiB (Worker's
 * resourceLimits). The dearest task the workers are given, the address
 * test over a 10 MiB From (the default max_message_size: 335,706
 * addresses), ran out of memory at 128 and finished in 256; matches over a
 * 10 MiB body finished in 32. Twice the dearest, for the parse's garbage.
 */
export const WORKER_HEAP_MB = 512;

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
 * does), to encode (as ec_rfc2047_encode_header does), or to read the
 * domain of its first address from (runtime/codec-ops.ts); the answer is
 * the first `keep` characters of the result, all of it without `keep`.
 */
export interface CodecTask {
  op: CodecOp;
  value: string;
  keep?: number;
}

/** The address test over one large field value (address-match.ts). */
export interface AddressTask extends AddressMatchSpec {
  value: string;
  /**
   * Names this value in this run (the same value, the same token): a
   * worker keeps the addresses of the last value it parsed, so a policy's
   * next address test over the same large From is not parsed again.
   */
  token: number;
}

/**
 * A task made ready to send (`prepare`). Its value is copied into bytes to
 * be moved to the thread (worker-bytes.ts) only when a thread takes the
 * task, inside the round trip the run is charged (`ms`): a task waiting
 * for a thread holds no copy. With every thread busy, each session reading
 * a large body queued a copy of it that no memory budget counted (10 MB
 * each; docs/sieve-interpreter.md, "What an offload costs").
 */
export interface PreparedTask extends MatchTask {
  /** The value's length in UTF-16 units. */
  chars: number;
}

/** What a worker is sent: a match or a codec task, its value as bytes. */
export type WorkerTask = { id: number } & WorkerBytes &
  (({ kind: 'match' } & Omit<MatchTask, 'value'>) | ({ kind: 'codec' } & Omit<CodecTask, 'value'>) | ({ kind: 'address'; token: number } & AddressMatchSpec));

/** What a worker posts once it listens: a thread's start-up is no run's cost. */
export type Ready = 'ready';

/** Makes a task (a match, a codec, an address test) ready to send; its value is copied when a thread takes it (PreparedTask). */
// An address task has every field of a match task: its overload comes first.
export function prepare(task: AddressTask): PreparedAddress;
export function prepare(task: MatchTask): PreparedTask;
export function prepare(task: CodecTask): PreparedCodec;
export function prepare(task: MatchTask | CodecTask | AddressTask): PreparedTask | PreparedCodec | PreparedAddress {
  return { ...task, chars: task.value.length };
}

/** A worker's answer: the index of the first key that matched (-1: none), with its match values; a codec's text. */
export type WorkerAnswer =
  | { id: number; index: number; captures?: string[]; warnings: string[]; ms: number }
  | ({ id: number; ms: number } & WorkerBytes)
  | ({ id: number; ms: number; address: true } & AddressMatchAnswer)
  | { id: number; error: string };

/**
 * The pool's answer: the worker's, or the deadline came first, or no
 * worker could do it. `ms` is what the offload costs the run: its round
 * trip, which holds `workerMs`, the worker's own time.
 */
export type PoolAnswer =
  | { kind: 'done'; index: number; captures?: string[]; warnings: string[]; ms: number; workerMs: number }
  | { kind: 'deadline'; ms: number }
  | OutOfMemory
  | { kind: 'unavailable' };

/** The worker ran out of its heap (WORKER_HEAP_MB) before it answered: the run fails (`outOfMemory`). `ms`: the round trip so far. */
export interface OutOfMemory {
  kind: 'memory';
  ms: number;
}

/** The runtime error of a run whose task over `chars` characters ran out of a worker's heap. */
export function outOfMemory(chars: number): SieveRuntimeFailure {
  return new SieveLimitExceeded(`a match over ${chars} characters needed more than the ${WORKER_HEAP_MB} MiB a match worker may use`);
}

/** The pool's answer to a codec task: the worker's text (`ms` its round trip), or the deadline came first, or no worker could do it. */
export type CodecAnswer = { kind: 'done'; text: string; ms: number } | { kind: 'deadline'; ms: number } | OutOfMemory | { kind: 'unavailable' };

/** A codec task made ready to send (`prepare`; its value copied when a thread takes it, as PreparedTask's). */
export type PreparedCodec = CodecTask & { chars: number };

/** An address test made ready to send (`prepare`; its value copied when a thread takes it, as PreparedTask's). */
export type PreparedAddress = AddressTask & { chars: number };

/** The pool's answer to an address test: the worker's (`ms` its round trip), or the deadline came first, or no worker could do it. */
export type AddressAnswer = ({ kind: 'done'; ms: number } & AddressMatchAnswer) | { kind: 'deadline'; ms: number } | OutOfMemory | { kind: 'unavailable' };

/** A task ready to send, with what the worker is to do with it. */
type Job = ({ kind: 'match' } & PreparedTask) | ({ kind: 'codec' } & PreparedCodec) | ({ kind: 'address' } & PreparedAddress);

/** What a worker's answer comes to here: with its round trip, or the deadline, or no worker. */
type Outcome = { kind: 'answer'; a: Exclude<WorkerAnswer, { error: string }>; ms: number } | { kind: 'deadline'; ms: number } | OutOfMemory | { kind: 'unavailable' };

interface Pending {
  id: number;
  job: Job;
  deadlineMs: number;
  resolve(o: Outcome): void;
}

interface Slot {
  worker: Worker;
  current: Pending | undefined;
  timer: NodeJS.Timeout | undefined;
  /** When the current task was handed to the thread. */
  started: number;
  /** The thread listens (it posted READY); until then it takes no task. */
  ready: boolean;
}

/** Two threads at least (one heavy session must not queue another), leaving a core to the event loop on larger machines. */
const SIZE = Math.min(4, Math.max(2, availableParallelism() - 1));

/**
 * Where the worker's code is: next to this file as tsc built it
 * (dist/src/sieve/match/), or next to the CLI bundle (dist/cli/, built by
 * scripts/bundle-cli.mjs as an entry point of its own). Run from the
 * TypeScript sources (the tests), the worker loads them through tsx.
 */
function spawn(heapMb: number): Worker {
  // Loaded on first use, not with this module: `check` loads the match types (and so this pool) but
  // never starts a worker, and node:worker_threads with its streams cost it 8 ms of a 0.2 s start
  // (docs/architecture.md "Start-up").
  const { Worker } = process.getBuiltinModule('node:worker_threads');
  const here = import.meta.url;
  const resourceLimits = { maxOldGenerationSizeMb: heapMb };
  if (here.endsWith('.ts')) {
    const file = new URL('./match-worker.ts', here).href;
    // tsx's ESM API (its package exports' "./esm/api" import condition); resolve() would give the CommonJS one.
    const tsx = pathToFileURL(join(dirname(createRequire(here).resolve('tsx/package.json')), 'dist', 'esm', 'api', 'index.mjs')).href;
    return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); })`, { eval: true, resourceLimits });
  }
  // An ES module next to the pool, or a CommonJS bundle of its own next to a CommonJS CLI bundle.
  const file = new URL('./match-worker.js', here);
  return new Worker(existsSync(file) ? file : new URL('./match-worker.cjs', here), { resourceLimits });
}

class MatchPool {
  private readonly idle: Slot[] = [];
  private readonly queue: Pending[] = [];
  private readonly slots = new Set<Slot>();
  private nextId = 0;
  /** Matches workers have answered so far (for tests and logs). */
  answers = 0;
  /** Set when a worker failed before it was ready: this process cannot run them, match on the event loop. */
  private broken = false;
  /** Threads started and not yet ready. */
  private starting = 0;
  /** What recent matches cost per character, by what they matched. */
  private readonly costs = new OffloadCosts();

  constructor(
    /** Each thread's old generation, in MiB (WORKER_HEAP_MB). */
    readonly heapMb = WORKER_HEAP_MB,
  ) {}

  /** How many matches are running in workers now (not counting those queued). */
  get running(): number {
    let n = 0;
    for (const s of this.slots) if (s.current) n++;
    return n;
  }

  /**
   * The least a match over `chars` characters can be expected to cost: the
   * cheapest recent round trip per character of matches like `task` (the
   * same match type, comparator and keys), times `chars`; 0 when there was
   * none lately. Without a task, the cheapest of any match. Every match
   * decodes and scans its value, so a run with less left than this would
   * not see the answer within its budget.
   */
  leastCostMs(chars: number, task?: Pick<MatchTask, 'type' | 'comparator' | 'keys'>): number {
    return this.costs.leastMs(chars, task && matchKind(task));
  }

  /**
   * Matches in a worker; the answer is 'deadline' when its round trip took
   * `deadlineMs` without an answer (the worker is then stopped). The
   * deadline counts from the hand-off to a ready thread, as `ms` does.
   */
  async match(task: PreparedTask, deadlineMs: number): Promise<PoolAnswer> {
    const o = await this.submit({ kind: 'match', ...task }, deadlineMs);
    if (o.kind !== 'answer') return o;
    if (!('index' in o.a) || 'address' in o.a) return { kind: 'unavailable' };
    return { kind: 'done', index: o.a.index, captures: o.a.captures, warnings: o.a.warnings, ms: o.ms, workerMs: o.a.ms };
  }

  /** Computes a codec task over a header value in a worker, charged and stopped as a match is. */
  async codec(task: PreparedCodec, deadlineMs: number): Promise<CodecAnswer> {
    const o = await this.submit({ kind: 'codec', ...task }, deadlineMs);
    if (o.kind !== 'answer') return o;
    if (!('bytes' in o.a)) return { kind: 'unavailable' };
    return { kind: 'done', text: decode(o.a), ms: o.ms };
  }

  /** Runs the address test over one large field value in a worker, charged and stopped as a match is. */
  async address(task: PreparedAddress, deadlineMs: number): Promise<AddressAnswer> {
    const o = await this.submit({ kind: 'address', ...task }, deadlineMs);
    if (o.kind !== 'answer') return o;
    if (!('address' in o.a)) return { kind: 'unavailable' };
    const { id: _id, ms: _ms, address: _address, ...a } = o.a;
    return { kind: 'done', ...a, ms: o.ms };
  }

  private submit(job: Job, deadlineMs: number): Promise<Outcome> {
    if (this.broken) return Promise.resolve({ kind: 'unavailable' });
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, job, deadlineMs, resolve });
      this.dispatch();
    });
  }

  /**
   * Starts the pool's threads now, not at the first large match: a thread
   * takes 30-80 ms to start, which that match's run would wait (uncharged)
   * and a client would hear. For servers, once they listen; the threads
   * are unreferenced while idle, so they keep no process alive.
   */
  warm(): void {
    while (!this.broken && this.slots.size < SIZE) if (!this.start()) return;
  }

  private dispatch(): void {
    while (this.queue.length && this.idle.length) this.assign(this.idle.pop()!, this.queue.shift()!);
    // Threads still starting take queued matches when ready; more start only for those no thread will take.
    while (this.queue.length > this.starting && this.slots.size < SIZE) if (!this.start()) return;
  }

  private start(): Slot | undefined {
    let worker: Worker;
    try {
      worker = spawn(this.heapMb);
    } catch {
      this.fail();
      return undefined;
    }
    const slot: Slot = { worker, current: undefined, timer: undefined, started: 0, ready: false };
    this.slots.add(slot);
    this.starting++;
    worker.on('message', (a: WorkerAnswer | Ready) => (a === 'ready' ? this.readied(slot) : this.answered(slot, a)));
    worker.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ERR_WORKER_OUT_OF_MEMORY' ? this.outOfMemory(slot) : this.lost(slot)));
    worker.on('exit', () => this.lost(slot));
    return slot;
  }

  private readied(slot: Slot): void {
    if (slot.ready || !this.slots.has(slot)) return;
    slot.ready = true;
    this.starting--;
    this.idle.push(slot);
    this.dispatch();
    // Kept alive only while it works (assign).
    if (!slot.current) slot.worker.unref();
  }

  private assign(slot: Slot, p: Pending): void {
    slot.current = p;
    slot.worker.ref();
    const { chars: _chars, value, ...task } = p.job;
    // Copying the value out and posting it are part of the round trip: they
    // can take milliseconds (a 10 MB copy, a collection), and the worker may
    // begin meanwhile.
    slot.started = performance.now();
    const sent = { ...task, ...encode(value), id: p.id } as WorkerTask;
    slot.worker.postMessage(sent, [sent.bytes]);
    slot.timer = setTimeout(() => {
      // The run's budget is spent: stop the thread wherever it is.
      void slot.worker.terminate();
      this.replace(slot, p, 'deadline');
    }, Math.max(0, p.deadlineMs - (performance.now() - slot.started)));
  }

  private answered(slot: Slot, a: WorkerAnswer): void {
    const p = slot.current;
    if (!p || p.id !== a.id) return;
    // The answer has been read (deserialized) on this thread by now: the round trip ends here.
    const ms = performance.now() - slot.started;
    clearTimeout(slot.timer);
    slot.current = undefined;
    slot.worker.unref();
    this.idle.push(slot);
    if ('error' in a) {
      p.resolve({ kind: 'unavailable' });
    } else {
      this.answers++;
      if (p.job.kind === 'match') this.costs.record(matchKind(p.job), ms / Math.max(1, p.job.chars));
      p.resolve({ kind: 'answer', a, ms });
    }
    this.dispatch();
  }

  /**
   * The worker ran out of its heap: V8 stopped it. Its task is not tried
   * again on the event loop, which has no more memory to give it: the run
   * fails (outOfMemory). The thread is replaced at once, as one stopped at
   * a deadline is.
   */
  private outOfMemory(slot: Slot): void {
    const p = slot.current;
    if (!slot.ready || !p) return this.lost(slot);
    if (!this.slots.has(slot)) return;
    clearTimeout(slot.timer);
    this.replace(slot, p, 'memory');
  }

  /**
   * A thread stopped with its task (at the run's deadline, or out of its
   * heap): the task gets `kind` with its round trip so far, and a
   * replacement starts now, so that the next match does not wait for one.
   */
  private replace(slot: Slot, p: Pending, kind: 'deadline' | 'memory'): void {
    slot.current = undefined;
    this.drop(slot);
    p.resolve({ kind, ms: performance.now() - slot.started });
    this.dispatch();
    if (this.slots.size < SIZE && !this.broken) this.start();
  }

  /** The worker died (or did not start): its task is matched on the event loop instead. */
  private lost(slot: Slot): void {
    if (!this.drop(slot)) return; // stopped at a deadline: already forgotten
    clearTimeout(slot.timer);
    const p = slot.current;
    slot.current = undefined;
    if (!slot.ready) {
      this.starting--;
      this.fail();
    }
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

/** A pool of its own, with threads of `heapMb` MiB (for tests of the bound). */
export const poolWithHeap = (heapMb: number) => new MatchPool(heapMb);
