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
 *
 * Each connection is counted with the listener it came in on ("host:port"
 * as configured), so that audit_connections_on_listener and _on_service
 * (sieve-ref-audit-connections-on-*.md) can count the connections from a
 * CIDR block on one listener or on all (`inBlock`). A block is summed over
 * the addresses connected now, so it costs as many as there are.
 */
import { type AddressBits, addressBits, bitsInBlock, blockOf, normalizedAddress } from '../sievepp/address-block.js';
import type { RedisLink } from './redis-link.js';

export interface ConnectionCounter {
  /** One more connection from `ip` (on `listener`): how many are open from it now, this one included (at once when counted here). */
  open(ip: string, listener?: string): number | Promise<number>;
  /** A connection from `ip` (on `listener`) ended. */
  close(ip: string, listener?: string): void;
  /** Connections open now from the block `ip/mask`, on `listener` or, without one, on every listener. */
  inBlock(ip: string, mask: number, listener?: string): number | Promise<number>;
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
  /** The same per listener ("" for a connection counted without one). */
  private readonly perListener = new Map<string, Map<string, number>>();
  /** Addresses as numbers, for blocks (inBlock); null for a string that is not an address. */
  private readonly bits = new Map<string, AddressBits | null>();

  // Answered at once: a promise here was one more wait for every connection.
  open(ip: string, listener = ''): number {
    return this.add(ip, 1, listener);
  }

  close(ip: string, listener = ''): void {
    this.add(ip, -1, listener);
  }

  inBlock(ip: string, mask: number, listener?: string): number {
    const block = blockOf(ip, mask);
    const counts = listener === undefined ? this.perIp : this.perListener.get(listener);
    if (!block || !counts) return 0;
    const inside = bitsInBlock(block);
    // Each address is parsed once, at the first query that meets it, not on every query (address-block.ts); the
    // addresses of connections long closed go when the cache outgrows the open ones.
    if (this.bits.size > 2 * this.perIp.size + 1024) this.bits.clear();
    let n = 0;
    for (const [from, k] of counts) {
      let bits = this.bits.get(from);
      if (bits === undefined) {
        const normalized = normalizedAddress(from);
        this.bits.set(from, (bits = normalized === null ? null : (addressBits(normalized) ?? null)));
      }
      if (bits !== null && inside(bits)) n += k;
    }
    return n;
  }

  /** Every listener, address and count, to take back what a worker held (cluster-connections.ts). */
  *byListener(): Generator<[string, string, number]> {
    for (const [listener, counts] of this.perListener) for (const [ip, n] of counts) yield [listener, ip, n];
  }

  async count(ip: string): Promise<number> {
    return this.current(ip);
  }

  /** Connections open from `ip`; with `listener`, on that listener only. */
  current(ip: string, listener?: string): number {
    return (listener === undefined ? this.perIp : this.perListener.get(listener))?.get(ip) ?? 0;
  }

  /** Every address with its count, for a fresh snapshot elsewhere. */
  entries(): IterableIterator<[string, number]> {
    return this.perIp.entries();
  }

  add(ip: string, by: number, listener = ''): number {
    // A listener's map stays when it empties: listeners are the configuration's few, and dropping it made a new Map
    // for every connection to a listener with none open, on the path of every connection.
    let own = this.perListener.get(listener);
    if (!own) this.perListener.set(listener, (own = new Map()));
    bump(own, ip, by);
    return bump(this.perIp, ip, by);
  }
}

/** Adds `by` to `ip`'s count, dropping it at 0; the count after. */
function bump(counts: Map<string, number>, ip: string, by: number): number {
  const n = (counts.get(ip) ?? 0) + by;
  if (n > 0) counts.set(ip, n);
  else counts.delete(ip);
  return Math.max(0, n);
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

  async open(ip: string, listener?: string): Promise<number> {
    this.local.add(ip, 1, listener);
    return this.exchange(ip, 1);
  }

  close(ip: string, listener?: string): void {
    this.local.add(ip, -1, listener);
    void this.exchange(ip, -1);
  }

  /**
   * Redis keeps one hash per address, not per block or listener: one
   * address on every listener (a full-length mask) is the shared count of
   * every process; anything else is this process's own connections
   * (docs/operations.md, "Workers").
   */
  inBlock(ip: string, mask: number, listener?: string): number | Promise<number> {
    const block = blockOf(ip, mask);
    if (listener === undefined && block && block[1] === (block[0].kind() === 'ipv4' ? 32 : 128)) return this.count(ip);
    return this.local.inBlock(ip, mask, listener);
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
