/**
 * Limits on probes (cbv.md bar 13): concurrent probes globally and per probe
 * domain, and a per-domain rate. A flood of forged senders from one domain
 * must not turn us into a flood against that domain.
 *
 * Over a limit the answer is "no" at once, never a queue: a queue that grows
 * with the flood would hold every waiting SMTP client with it. The caller
 * turns "no" into a `transient` verdict with reason `rate-limited`.
 */

export interface LimiterOptions {
  maxConcurrent: number;
  maxConcurrentPerDomain: number;
  /** Probes started per domain per window. */
  ratePerDomain: number;
  rateWindowMs: number;
  now: () => number;
}

export type Denial = 'global-concurrency' | 'domain-concurrency' | 'domain-rate';

export type Acquired = { ok: true; release: () => void } | { ok: false; why: Denial };

export class ProbeLimiter {
  private running = 0;
  private readonly perDomain = new Map<string, number>();
  /** Start times inside the current window, per domain (a sliding log). */
  private readonly starts = new Map<string, number[]>();

  constructor(private readonly o: LimiterOptions) {}

  tryAcquire(domain: string): Acquired {
    if (this.running >= this.o.maxConcurrent) return { ok: false, why: 'global-concurrency' };
    const busy = this.perDomain.get(domain) ?? 0;
    if (busy >= this.o.maxConcurrentPerDomain) return { ok: false, why: 'domain-concurrency' };
    const now = this.o.now();
    const recent = (this.starts.get(domain) ?? []).filter((t) => now - t < this.o.rateWindowMs);
    if (recent.length >= this.o.ratePerDomain) {
      this.starts.set(domain, recent);
      return { ok: false, why: 'domain-rate' };
    }
    recent.push(now);
    this.starts.set(domain, recent);
    this.running++;
    this.perDomain.set(domain, busy + 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.running--;
        const n = (this.perDomain.get(domain) ?? 1) - 1;
        if (n > 0) this.perDomain.set(domain, n);
        else this.perDomain.delete(domain);
        this.sweep(domain);
      },
    };
  }

  /** Probes running now (for tests and metrics). */
  get active(): number {
    return this.running;
  }

  /** Forgets a domain's rate log once it is empty, so the map does not grow with every domain ever seen. */
  private sweep(domain: string): void {
    const now = this.o.now();
    const recent = (this.starts.get(domain) ?? []).filter((t) => now - t < this.o.rateWindowMs);
    if (recent.length === 0) this.starts.delete(domain);
    else this.starts.set(domain, recent);
  }
}
