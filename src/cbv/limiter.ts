/**
 * Limits on probes (docs/cbv.md): concurrent probes globally and per probe
 * domain, a per-domain rate, and concurrent sessions per MX IP address (many
 * domains share one provider's MX hosts, which the per-domain limit alone
 * would not protect). A flood of forged senders from one domain
 * must not turn us into a flood against that domain.
 *
 * Over a limit the answer is "no" at once, never a queue: a queue that grows
 * with the flood would hold every waiting SMTP client with it. The caller
 * turns "no" into a `transient` verdict with reason `rate-limited`.
 */

export interface LimiterOptions {
  maxConcurrent: number;
  maxConcurrentPerDomain: number;
  /** Sessions open at once to one MX IP address. */
  maxConcurrentPerHost: number;
  /** Probes started per domain per window. */
  ratePerDomain: number;
  rateWindowMs: number;
  now: () => number;
}

export type Denial = 'global-concurrency' | 'domain-concurrency' | 'domain-rate' | 'host-concurrency';

export type Acquired = { ok: true; release: () => void } | { ok: false; why: Denial };

/** A slot taken elsewhere (another process's count) whose `give` runs once, however often it is released. */
export function acquiredOnce(give: () => void): Acquired {
  let released = false;
  return {
    ok: true,
    release: () => {
      if (released) return;
      released = true;
      give();
    },
  };
}

export class ProbeLimiter {
  private running = 0;
  private readonly perDomain = new Map<string, number>();
  private readonly perHost = new Map<string, number>();
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
    const releaseDomain = take(this.perDomain, domain);
    return {
      ok: true,
      release: once(() => {
        this.running--;
        releaseDomain();
        this.sweep(domain);
      }),
    };
  }

  /**
   * Only the global concurrency slot: for an engine whose per-domain limits
   * are counted across processes (shared.ts), this process still bounds
   * its own probes.
   */
  tryAcquireGlobal(): Acquired {
    if (this.running >= this.o.maxConcurrent) return { ok: false, why: 'global-concurrency' };
    this.running++;
    return { ok: true, release: once(() => void this.running--) };
  }

  /** A session to one MX IP, taken while connected to it. */
  tryAcquireHost(ip: string): Acquired {
    if ((this.perHost.get(ip) ?? 0) >= this.o.maxConcurrentPerHost) return { ok: false, why: 'host-concurrency' };
    return { ok: true, release: once(take(this.perHost, ip)) };
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

/** Counts one more for `key`; the returned function counts it back (and forgets zeros). */
function take(map: Map<string, number>, key: string): () => void {
  map.set(key, (map.get(key) ?? 0) + 1);
  return () => {
    const n = (map.get(key) ?? 1) - 1;
    if (n > 0) map.set(key, n);
    else map.delete(key);
  };
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}
