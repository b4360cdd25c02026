/**
 * RFC 7352's duplicate-tracking list shared through Redis (docs/sieve-reference.md,
 * "duplicate"): one key per id, expiring with its period (`SET key 1 EX s`,
 * with NX unless the test had :last, so that a duplicate does not extend
 * an entry's period). Every record is also kept in this process's own list,
 * which answers while Redis is down: an outage can let a duplicate another
 * process saw through, never make a new message one.
 */
import { type DuplicateRecord, type DuplicateStore, changesOf, hashId, MemoryDuplicates } from './duplicates.js';
import type { RedisLink } from './redis-link.js';

export class RedisDuplicates implements DuplicateStore {
  constructor(
    private readonly link: RedisLink,
    private readonly local = new MemoryDuplicates(),
  ) {}

  async seen(id: string): Promise<boolean> {
    if (this.local.seen(id)) return true;
    const r = await this.link.attempt((c) => c.exists(this.key(id)));
    return r.ok && r.value === 1;
  }

  record(records: readonly DuplicateRecord[]): void {
    this.local.record(records);
    const changes = changesOf(records);
    if (!changes.length) return;
    void this.link.attempt((c) => {
      const m = c.multi();
      for (const r of changes) {
        if (r.last) m.set(this.key(r.id), '1', 'EX', r.seconds);
        else m.set(this.key(r.id), '1', 'EX', r.seconds, 'NX');
      }
      return m.exec();
    });
  }

  private key(id: string): string {
    return this.link.key('dup', hashId(id));
  }
}
