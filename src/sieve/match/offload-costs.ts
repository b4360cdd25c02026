/**
 * What recent offloads to the match workers cost, per character of the
 * value, by what each matched (match type, comparator and keys): a run
 * with less budget left than a match can be expected to cost does not
 * start it (match-pool.ts; docs/sieve-interpreter.md, "What an offload
 * costs").
 *
 * By what was matched, because one pattern's cost says nothing of
 * another's: re2js takes several microseconds a character for some
 * patterns (`a.{20}x` over random a/b text) and a hundredth of that for
 * most. Kept for all patterns together, a few of one session's expensive
 * matches made every other session's large match look unaffordable, and
 * those runs stopped at once with the budget error.
 */

/** How many recent round trips are kept for each kind of match. */
const RECENT = 8;
/** How many kinds of match are remembered; the one heard of longest ago is forgotten first. */
const KINDS = 256;

/** What makes two matches alike in cost: their match type, comparator and keys. */
export function matchKind(task: { type: string; comparator: string; keys: readonly string[] }): string {
  return JSON.stringify([task.type, task.comparator, task.keys]);
}

export class OffloadCosts {
  /** Round trips per character of the last RECENT answers, by kind, the kind heard of last at the end. */
  private readonly byKind = new Map<string, number[]>();

  record(kind: string, perChar: number): void {
    const costs = this.byKind.get(kind) ?? [];
    this.byKind.delete(kind);
    if (costs.push(perChar) > RECENT) costs.shift();
    this.byKind.set(kind, costs);
    if (this.byKind.size > KINDS) this.byKind.delete(this.byKind.keys().next().value!);
  }

  /**
   * The least a match over `chars` characters can be expected to cost: the
   * cheapest recent round trip per character of matches of this `kind`,
   * times `chars`; 0 for a kind not seen lately. Without a kind, the
   * cheapest of any kind.
   */
  leastMs(chars: number, kind?: string): number {
    if (kind !== undefined) {
      const costs = this.byKind.get(kind);
      return costs ? Math.min(...costs) * chars : 0;
    }
    let least = Infinity;
    for (const costs of this.byKind.values()) least = Math.min(least, ...costs);
    return least === Infinity ? 0 : least * chars;
  }
}
