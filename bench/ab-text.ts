/**
 * Text on which `a.{20}x` runs away, for the benchmarks that need a regex
 * nothing stops early: the literals "a" and "x" are there (no prefilter
 * refuses it) and it never matches ("x" only starts lines), but over random
 * a/b text the DFA needs a state for every arrangement of the a's in the
 * last 21 characters (2^21), so re2js's lazy DFA runs out of room, rebuilds
 * and falls back to its NFA: seconds for 5 MB. The text is the same in every
 * run (a fixed linear congruential sequence), in lines of 67 octets.
 */
export function abText(size: number): string {
  let seed = 1;
  const lines: string[] = [];
  for (let n = 0; n < size; ) {
    let l = 'x: ';
    for (let i = 0; i < 64; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      l += seed & 0x10000 ? 'a' : 'b';
    }
    lines.push(l);
    n += l.length + 2;
  }
  return `${lines.join('\r\n')}\r\n`;
}
