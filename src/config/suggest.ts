/**
 * "Did you mean ...?" for unknown scope and option names: the nearest valid
 * name by edit distance, offered only when it is close enough to be a typo.
 */

/** Levenshtein distance, two rows at a time (names are short). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate nearest to `name` (case-insensitively), or undefined when even
 * the nearest differs in more than a third of its letters (at least 2 edits
 * are always allowed): suggesting `port` for `spool_dir` helps nobody.
 */
export function nearest(name: string, candidates: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = Math.max(2, Math.floor(lower.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** `; did you mean 'x'?` or nothing, for the end of an error message. */
export function didYouMean(name: string, candidates: readonly string[]): string {
  const s = nearest(name, candidates);
  return s === undefined ? '' : `; did you mean '${s}'?`;
}
