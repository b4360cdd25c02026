/**
 * The csv: datasource beside other sessions (docs/server.md, "The spool"):
 * the longest event-loop stall while a 20 MB file is read, parsed and made
 * into rows (max_rows = -1, as Momentum's CSV examples have it), and while
 * a second query asks for it again, against the longest stall of the same
 * loop doing nothing for as long (the baseline, measured in the same run).
 * Also the parse read in slices against the same parse in one go: what
 * letting the loop run between slices costs. Target: stalls far under
 * 100 ms (docs/sieve-interpreter.md, "CPU budget and time slices").
 * Then query_cidr over the file's blocks (a table of 438,000 blocks, as a
 * country or ASN table has): a look-up by the linear scan it used to be
 * against one through the table's index, the index's build (in one go, and
 * its longest step between two stops as define_cidr runs it), for the
 * file's order and shuffled; and reading the blocks (parseBlock) against
 * ipaddr.js's parseCIDR, which read every block before. And a query
 * repeated through the result cache against the same query to the driver.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseCsv, parseCsvInSlices } from '../src/sievepp/datasources/csv-parse.js';
import { type CidrEntry, CidrTables, parseBlock, scanTable } from '../src/sievepp/cidr.js';
import { buildCidrIndex, buildCidrIndexNow } from '../src/sievepp/cidr-index.js';
import { CachedDatasource, DEFAULT_CACHE } from '../src/sievepp/datasource.js';
import { CsvDatasource } from '../src/sievepp/datasources/csv.js';
import { ipaddr } from '../src/sievepp/ipaddr.js';

const BYTES = 20 << 20;

/** Lines like a CIDR list's, one in seven with a quoted field holding a comma, quotes and a line break. */
function csvText(): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < BYTES; i++) {
    const block = `${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}.0/24,127.0.0.${i % 250}`;
    const line = i % 7 === 0 ? `${block},"listed, by ""ops""\r\nline two"\n` : `${block},reason number ${i}\n`;
    lines.push(line);
    size += line.length;
  }
  return lines.join('');
}

/** The longest gap between turns of the event loop while `work` runs (a callback at every turn), and how long it ran. */
async function longestStall(work: () => Promise<unknown>): Promise<{ stall: number; ms: number }> {
  let last = performance.now();
  let stall = 0;
  let on = true;
  const turn = () => {
    const now = performance.now();
    stall = Math.max(stall, now - last);
    last = now;
    if (on) setImmediate(turn);
  };
  setImmediate(turn);
  const start = performance.now();
  await work();
  on = false;
  stall = Math.max(stall, performance.now() - last);
  return { stall, ms: performance.now() - start };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'smtp-cbv-csv-bench-'));
  try {
    const text = csvText();
    writeFileSync(path.join(dir, 'big.csv'), text);
    console.log(`  ${(text.length / 2 ** 20).toFixed(0)} MB, ${parseCsv(text).length} records`);
    for (let round = 1; round <= 3; round++) {
      const ds = new CsvDatasource(dir);
      const first = await longestStall(() => ds.query('big.csv?cols=2', []));
      const other = await longestStall(() => ds.query('big.csv', []));
      const idle = await longestStall(() => new Promise((r) => setTimeout(r, first.ms)));
      console.log(
        `  round ${round}: first query ${first.ms.toFixed(0)} ms, longest stall ${first.stall.toFixed(1)} ms (${(first.stall / idle.stall).toFixed(1)}x idle); ` +
          `other columns ${other.ms.toFixed(0)} ms, longest stall ${other.stall.toFixed(1)} ms; idle loop's longest stall ${idle.stall.toFixed(1)} ms`,
      );
    }
    await repeated(dir);
    for (let round = 1; round <= 3; round++) {
      let start = performance.now();
      parseCsv(text);
      const once = performance.now() - start;
      start = performance.now();
      await parseCsvInSlices(text);
      const sliced = performance.now() - start;
      console.log(`  parse: in one go ${once.toFixed(0)} ms (${(text.length / 1e3 / once).toFixed(0)} MB/s), in slices ${sliced.toFixed(0)} ms (${(sliced / once).toFixed(2)}x)`);
    }
    cidr(text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A query repeated (max_rows = 100, the default) straight to the driver against through the result cache, as the configuration opens it. */
async function repeated(dir: string): Promise<void> {
  const csv = new CsvDatasource(dir);
  const cached = new CachedDatasource(csv, DEFAULT_CACHE);
  await cached.query('big.csv?cols=2', []);
  const N = 2000;
  for (let round = 1; round <= 3; round++) {
    let start = performance.now();
    for (let i = 0; i < N; i++) await csv.query('big.csv?cols=2', [], 100);
    const direct = (performance.now() - start) / N;
    start = performance.now();
    for (let i = 0; i < N; i++) await cached.query('big.csv?cols=2', []);
    const hit = (performance.now() - start) / N;
    console.log(`  repeated query of 100 rows: by the driver ${(direct * 1000).toFixed(0)} us, from the result cache ${(hit * 1000).toFixed(0)} us (${(direct / hit).toFixed(1)}x)`);
  }
}

/** The longest step of a build that stops every so often, and the whole build's time. */
function stepped<R>(build: Generator<void, R>): { ms: number; longest: number; value: R } {
  const start = performance.now();
  let last = start;
  let longest = 0;
  for (;;) {
    const r = build.next();
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (r.done) return { ms: now - start, longest, value: r.value };
  }
}

/** query_cidr over every block of the file: the linear scan against the index, and the index's build. */
function cidr(text: string): void {
  const records = parseCsv(text);
  let start = performance.now();
  const entries: CidrEntry[] = records.flatMap((r) => {
    const block = parseBlock(r[0] ?? '');
    return block ? [{ block, value: r[1] ?? '' }] : [];
  });
  const parsedMs = performance.now() - start;
  // What parseBlock cost when ipaddr.js read every block (a tenth of them, so as not to wait 3 s).
  start = performance.now();
  for (let i = 0; i < records.length; i += 10) ipaddr().parseCIDR(records[i]![0]!);
  const byIpaddrMs = (performance.now() - start) * 10;
  // Addresses inside the table (its last blocks, the scan's worst case too) and outside it.
  const ips = Array.from({ length: 64 }, (_, i) => (i % 4 === 3 ? `192.0.2.${i}` : `${(i * 37) % 7}.${(i * 53) % 256}.${(i * 101) % 256}.${i}`));
  const shuffled = [...entries];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = (i * 2_654_435_761) % (i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  console.log(`  query_cidr over ${entries.length} blocks: blocks read in ${parsedMs.toFixed(0)} ms (by ipaddr.js: ${byIpaddrMs.toFixed(0)} ms, ${(byIpaddrMs / parsedMs).toFixed(0)}x)`);
  for (let round = 1; round <= 3; round++) {
    start = performance.now();
    const scanned = ips.slice(0, 16).map((ip) => scanTable(entries, ipaddr().process(ip)));
    const scanMs = (performance.now() - start) / 16;
    const tables = new CidrTables();
    const inOrder = stepped(buildCidrIndex(entries));
    start = performance.now();
    const once = buildCidrIndexNow(entries);
    const onceMs = performance.now() - start;
    const mixed = stepped(buildCidrIndex(shuffled));
    tables.define('t', { type: 'value', entries, defaultValue: '', interpolate: false }, once);
    const N = 100_000;
    start = performance.now();
    for (let i = 0; i < N; i++) tables.lookup('t', ips[i % ips.length]!);
    const indexMs = (performance.now() - start) / N;
    const same = ips.slice(0, 16).every((ip, i) => tables.lookup('t', ip)!.entry === scanned[i]);
    if (!same || mixed.value.v4.starts.length !== once.v4.starts.length) throw new Error('the index and the scan disagree');
    console.log(
      `  round ${round}: look-up by scan ${scanMs.toFixed(2)} ms, by the index ${(indexMs * 1000).toFixed(2)} us (${(scanMs / indexMs).toFixed(0)}x); ` +
        `index build in the file's order ${onceMs.toFixed(0)} ms in one go, ${inOrder.ms.toFixed(0)} ms stepwise (longest step ${inOrder.longest.toFixed(2)} ms); ` +
        `shuffled ${mixed.ms.toFixed(0)} ms (longest step ${mixed.longest.toFixed(2)} ms)`,
    );
  }
}

await main();
