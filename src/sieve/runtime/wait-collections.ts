/**
 * Garbage collections V8 did in the turns a run yielded, charged to the run
 * (docs/sieve-interpreter.md, "CPU budget and time slices"). V8 does part of its
 * collection work as tasks on the event loop, so between a time-sliced
 * run's slices rather than inside them. That work is mostly the run's own
 * garbage (a foreverypart loop building variables), and uncounted it let a
 * run go on about 10% past its budget (bench/budget.bench.ts: 87 ms of
 * scavenges in the turns of a run stopped at 1.11x its 1 s budget). A run
 * notes when it yields; a collection that began in one of those turns is
 * charged to it. Every run yielding at the time is charged: with several
 * heavy runs, each stops a little early rather than all of them late.
 */

/**
 * The real clock: Performance's own `now`, which a test's fake on the instance
 * (tests drive a run's own time with one) does not replace. Taken on the first
 * wait, not when this module loads: the global `performance` loads
 * node:perf_hooks, 4 ms of a `check`, which runs no script (docs/architecture.md
 * "Start-up").
 */
let realClock: (() => number) | undefined;
const realNow = (): number => (realClock ??= Object.getPrototypeOf(performance).now.bind(performance) as () => number)();

/** Collections as they were reported, oldest first: their starts and lengths (ms, performance.now's clock). */
const starts: number[] = [];
const lengths: number[] = [];
/** How many were dropped off the front, so that a run's place in the list survives the trimming. */
let dropped = 0;
let observer: InstanceType<typeof PerformanceObserver> | undefined;

/** Notes one collection: the observer's report, or a test's. */
export function noteCollection(start: number, ms: number): void {
  starts.push(start);
  lengths.push(ms);
  if (starts.length > 4096) {
    starts.splice(0, 2048);
    lengths.splice(0, 2048);
    dropped += 2048;
  }
}

/** Starts listening on the first wait of any run: a process whose runs never wait pays nothing. */
function watch(): void {
  if (observer) return;
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) noteCollection(e.startTime, e.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
}

export class WaitCollections {
  /** The first collection this run has not looked at. */
  private seen = dropped + starts.length;
  /** The waits that may still have collections reported in them: start, end, start, end... */
  private readonly waits: number[] = [];
  private waitStart = 0;

  began(): void {
    watch();
    this.waitStart = realNow();
  }

  ended(): void {
    this.waits.push(this.waitStart, realNow());
    if (this.waits.length > 64) this.waits.splice(0, this.waits.length - 64);
  }

  /** The ms of collection reported since the last call that began in one of this run's waits. */
  take(): number {
    const w = this.waits;
    if (w.length === 0 || this.seen === dropped + starts.length) return 0;
    let ms = 0;
    for (let i = Math.max(0, this.seen - dropped); i < starts.length; i++) {
      const s = starts[i]!;
      for (let j = 0; j < w.length; j += 2) {
        if (s >= w[j]! && s <= w[j + 1]!) {
          ms += lengths[i]!;
          break;
        }
      }
    }
    this.seen = dropped + starts.length;
    // Collections are reported in the order they ran: a wait that ended before the newest reported one began gains no more.
    const newest = starts[starts.length - 1]!;
    let done = 0;
    while (done < w.length && w[done + 1]! < newest) done += 2;
    if (done) w.splice(0, done);
    return ms;
  }
}
