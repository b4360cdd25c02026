/**
 * A Map bounded in entries that drops the least recently used first: the
 * CBV verdict cache, the DNS cache, datasource results, named throttles.
 *
 * The usual way, `delete` then `set` on every hit so that the key moves to
 * the end of the Map's order, is slow for a hot key in V8: its Map (an
 * ordered hash table) keeps a deleted entry in its bucket's chain until the
 * table is rebuilt, so a key put back on every hit lengthens its own chain
 * by one dead entry a hit, and each look-up walks them. In a full table of
 * 10,000 entries one hot key's hit took about 30 µs, of 100,000 about 245
 * µs, where a `get` takes well under one (bench/lru-map.bench.ts). Caches
 * see exactly that: one throttle or sender in every message.
 *
 * So an entry is moved to the end only when it may have fallen into the
 * older half: when as many entries as half the map holds, or more, were
 * placed (set or moved) since it was. A hot key is then moved once every
 * size/2 placements, not on every hit, and leaves its chain a dead entry
 * only as often. The order is LRU but for that slack: an entry used (set,
 * or found by `get`) survives at least the next floor(capacity / 2)
 * placements, so one used that often is never dropped; a strict LRU keeps
 * it for capacity - 1. The order counts too for an owner that drops
 * entries itself, before the map is full (the gauge caches, by their
 * budget): so the slack follows the entries held, not the capacity.
 */
interface Slot<V> {
  value: V;
  /** The placement count when it was last put at the end. */
  placed: number;
}

export class LruMap<K, V> {
  private readonly map = new Map<K, Slot<V>>();
  private placements = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`an LRU map needs room for one entry at least (capacity ${capacity})`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The value, marking the key used. */
  get(key: K): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (this.placements - slot.placed >= this.map.size / 2) {
      this.map.delete(key);
      slot.placed = ++this.placements;
      this.map.set(key, slot);
    }
    return slot.value;
  }

  /** The value, leaving the order as it is. */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Sets the value as the most recently used; past the capacity, the least recently used goes. */
  set(key: K, value: V): this {
    const slot = this.map.get(key);
    if (slot !== undefined && this.placements - slot.placed < this.map.size / 2) {
      slot.value = value;
      return this;
    }
    if (slot !== undefined) this.map.delete(key);
    this.map.set(key, { value, placed: ++this.placements });
    while (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  /** Keys and values, the least recently used first (within the slack above). */
  *entries(): IterableIterator<[K, V]> {
    for (const [key, slot] of this.map) yield [key, slot.value];
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  /** Each value and key, the least recently used first, without a generator's cost an entry (a scan of every entry). */
  forEach(f: (value: V, key: K) => void): void {
    this.map.forEach((slot, key) => f(slot.value, key));
  }
}
