/**
 * The tables and cells of a run's memo (Runtime.memoize, Runtime.memoizeAt):
 * numbers made once per module or per compiled read, so that a look-up in
 * a run finds its place by index.
 */

/** A table of Runtime.memoize, made once per module with memoTable(): an index, so a look-up finds its table without hashing. */
export type MemoTable = number & { readonly memoTable: unique symbol };
let memoTables = 0;
export function memoTable(): MemoTable {
  return memoTables++ as MemoTable;
}

/**
 * A cell of every run's memo for one (table, key) pair a compiled test
 * reads (Runtime.memoizeAt). Cells are numbered across all scripts, so a
 * run's cells stay a small array: past MAX_CELLS new pairs get none (-1)
 * and use memoize's maps.
 */
const cellNumbers = new Map<string, number>();
const MAX_CELLS = 1000;
export function memoSlot(table: MemoTable, key: string): number {
  const id = `${table}:${key}`;
  let n = cellNumbers.get(id);
  if (n === undefined) {
    if (cellNumbers.size >= MAX_CELLS) return -1;
    cellNumbers.set(id, (n = cellNumbers.size));
  }
  return n;
}
