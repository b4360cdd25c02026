/**
 * Open connections per client IP address: what a listener's
 * `max_connections_per_ip` compares against, and what Momentum-style
 * `ec_ip_connections` counters read (`count`).
 *
 * LocalConnections counts in this process. RedisConnections counts across
 * every process sharing a Redis (docs/operations.md): one hash per IP, one
 * field per process, summed over processes that are alive. A process
 * proves it is alive with a key it refreshes every few seconds, so the
 * connections of a crashed worker stop counting within `aliveTtlMs`. While
 * Redis is down the local count answers; when it returns, the process
 * writes its counts afresh under a new id (what it missed meanwhile
 * cannot be patched up field by field).
 */
import type { RedisLink } from './redis-link.js';

export interface ConnectionCounter {
  /** One more connection from `ip`: how many are open from it now, this one included (at once when counted here). */
  open(ip: string): number | Promise<number>;
  /** A connection from `ip` ended. */
  close(ip: string): void;
  /** How many connections from `ip` are open now. */
  count(ip: string): Promise<number>;
  /**
   * The same without waiting, for synchronous readers (Sieve++ counters at
   * connect time): the count as of this process's last exchange about
   * `ip`, which for a connection being decided is its own `open`.
   */
  current(ip: string): number;
}

export class LocalConnections implements ConnectionCounter {
  private readonly perIp = new Map<string, number>();

  // Answered at once: a promise here was one more wait for every connection.
  open(ip: string): number {
    return this.add(ip, 1);
  }

  close(ip: string): void {
    this.add(ip, -1);
  }

  async count(ip: string): Promise<number> {
    return this.current(ip);
  }

  current(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  /** Every address with its count, for a fresh snapshot elsewhere. */
  entries(): IterableIterator<[string, number]> {
    return this.perIp.entries();
  }

  add(ip: string, by: number): number {
    const n = (this.perIp.get(ip) ?? 0) + by;
    if (n > 0) this.perIp.set(ip, n);
    else this.perIp.delete(ip);
    return Math.max(0, n);
  }
}

/** KEYS[1]: the IP's hash. ARGV: field, delta, prefix of alive keys, key ttl ms. Returns the live sum. */
const ADD_AND_COUNT = `
if tonumber(ARGV[2]) ~= 0 then
  local n = redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])
  if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local all = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #all, 2 do
  if redis.call('EXISTS', ARGV[3] .. all[i]) == 1 then total = total + tonumber(all[i + 1])
  else redis.call('HDEL', KEYS[1], all[i]) end
end
return total`;

export class RedisConnections implements ConnectionCounter {
  private readonly local = new LocalConnections();
  /** The last cluster-wide count learnt per address, while this process has connections from it. */
  private readonly known = new Map<string, number>();
  private epoch = 0;
  private id: string;
  private readonly heartbeat: NodeJS.Timeout;
  /** An IP's hash outlives its last connection by this much (a crashed process never cleans up). */
  private readonly hashTtlMs = 86_400_000;

  constructor(
    private readonly link: RedisLink,
    private readonly aliveTtlMs = 30_000,
  ) {
    this.id = `${link.processId}:0`;
    link.onChange((up) => {
      if (up) void this.announce();
    });
    if (link.up) void this.announce();
    this.heartbeat = setInterval(() => void this.link.attempt((c) => c.set(this.aliveKey(this.id), '1', 'PX', this.aliveTtlMs)), Math.max(100, this.aliveTtlMs / 3));
    this.heartbeat.unref();
  }

  async open(ip: string): Promise<number> {
    this.local.add(ip, 1);
    return this.exchange(ip, 1);
  }

  close(ip: string): void {
    this.local.add(ip, -1);
    void this.exchange(ip, -1);
  }

  count(ip: string): Promise<number> {
    return this.exchange(ip, 0);
  }

  current(ip: string): number {
    return this.link.up ? (this.known.get(ip) ?? this.local.current(ip)) : this.local.current(ip);
  }

  /** Adds `delta` for this process (sent at once, so commands keep their order) and learns the total. */
  private async exchange(ip: string, delta: number): Promise<number> {
    const r = await this.link.attempt((c) => c.eval(ADD_AND_COUNT, 1, this.hashKey(ip), this.id, String(delta), this.aliveKey(''), String(this.hashTtlMs)) as Promise<number>);
    const total = r.ok ? r.value : this.local.current(ip);
    if (this.local.current(ip) > 0) this.known.set(ip, total);
    else this.known.delete(ip);
    return total;
  }

  /** Leaves the shared count: this process's connections stop counting at once. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.link.attempt((c) => c.del(this.aliveKey(this.id)));
  }

  /** (Re)joins the shared count under a new id with this process's current counts. */
  private async announce(): Promise<void> {
    const old = this.id;
    this.id = `${this.link.processId}:${++this.epoch}`;
    const id = this.id;
    await this.link.attempt(async (c) => {
      const m = c.multi().del(this.aliveKey(old)).set(this.aliveKey(id), '1', 'PX', this.aliveTtlMs);
      for (const [ip, n] of this.local.entries()) m.hset(this.hashKey(ip), id, n).pexpire(this.hashKey(ip), this.hashTtlMs);
      return m.exec();
    });
  }

  private hashKey(ip: string): string {
    return this.link.key('conns', ip);
  }

  private aliveKey(id: string): string {
    return this.link.key('alive', '') + id;
  }
}
