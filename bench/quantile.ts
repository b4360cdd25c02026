/** The `q` quantile of `sorted` (ascending), by nearest rank: the smallest value with at least that share of the values at or below it. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
