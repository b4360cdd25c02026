/**
 * Which deliveries run now: at most a destination's Max_Outbound_Connections
 * to each destination (one gateway, or one domain's MX hosts) and at most
 * Server_Max_Outbound_Connections in all (docs/delivery.md). Jobs wait in
 * their destination's line, in the order they came; destinations that have
 * work when no server-wide slot is left wait in a line of their own and take
 * one slot each, in turn, as slots come free, so one busy destination does
 * not hold every slot.
 */
interface Line<J> {
  active: number;
  limit: number;
  waiting: J[];
  head: number;
  /** In the line of destinations waiting for a server-wide slot. */
  blocked?: boolean;
}

export class DeliverySlots<J> {
  private readonly lines = new Map<string, Line<J>>();
  /** Destinations with work waiting only for a server-wide slot, in the order they take their turns. */
  private blocked: string[] = [];
  /** Deliveries in flight, every destination together. */
  private active = 0;
  private readonly inflight = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly run: (job: J) => Promise<void>,
    /** Server_Max_Outbound_Connections now (a reload may change it). */
    private readonly serverMax: () => number,
  ) {}

  /** Adds a job to the line of its destination (`key`: jobs with one key share its limit), whose limit is now `limit`, and starts what may start. */
  add(job: J, key: string, limit: number): void {
    const d = this.lines.get(key) ?? { active: 0, limit, waiting: [], head: 0 };
    d.limit = limit;
    d.waiting.push(job);
    this.lines.set(key, d);
    this.pump(key, d);
  }

  /** Server-wide slots are free: the destinations in line take one job each, in turn, while slots last. */
  released(): void {
    while (!this.stopped && this.active < this.serverMax() && this.blocked.length) {
      const key = this.blocked.shift()!;
      const d = this.lines.get(key);
      if (!d?.blocked) continue;
      d.blocked = false;
      this.pump(key, d, 1);
      // Its own deliveries may have taken what it waited with meanwhile: an idle destination is forgotten.
      if (d.active === 0 && d.head === d.waiting.length && !d.blocked) this.lines.delete(key);
    }
  }

  /** Starts nothing more; resolves when the deliveries in flight have ended, or after `deadlineMs`. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => (timer = setTimeout(r, deadlineMs)))]);
    if (timer) clearTimeout(timer);
  }

  /**
   * Starts a destination's waiting jobs, up to its limit and the server's
   * (at most `most` of them). A destination that still has work when the
   * server has no slot left joins the line of those waiting for one.
   */
  private pump(key: string, d: Line<J>, most = Infinity): void {
    let started = 0;
    while (!this.stopped && d.active < d.limit && d.head < d.waiting.length) {
      if (this.active >= this.serverMax() || started === most) {
        if (!d.blocked) {
          d.blocked = true;
          this.blocked.push(key);
        }
        return;
      }
      started++;
      const job = d.waiting[d.head++]!;
      d.active++;
      this.active++;
      const p: Promise<void> = this.run(job).finally(() => {
        d.active--;
        this.active--;
        this.inflight.delete(p);
        if (d.head === d.waiting.length) {
          d.waiting = [];
          d.head = 0;
        }
        if (d.active === 0 && d.waiting.length === 0 && !d.blocked) this.lines.delete(key);
        // The slot goes first to the destinations in line for one, then to this one's next job.
        this.released();
        this.pump(key, d);
      });
      this.inflight.add(p);
    }
  }
}
