/**
 * The csv: datasource beside other sessions (docs/server.md, "The spool"):
 * the longest event-loop stall while a 20 MB file is read, parsed and made
 * into rows (max_rows = -1, as Momentum's CSV examples have it), and while
 * a second query asks for it again, against the longest stall of the same
 * loop doing nothing for as long (the baseline, measured in the same run).
 * Also the parse read in slices against the same parse in one go: what
 * letting the loop run between slices costs. Target: stalls far under
 * 100 ms (docs/sieve-interpreter.md, "CPU budget and time slices").
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseCsv, parseCsvInSlices } from '../src/sievepp/datasources/csv-parse.js';
import { CsvDatasource } from '../src/sievepp/datasources/csv.js';

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
    for (let round = 1; round <= 3; round++) {
      let start = performance.now();
      parseCsv(text);
      const once = performance.now() - start;
      start = performance.now();
      await parseCsvInSlices(text);
      const sliced = performance.now() - start;
      console.log(`  parse: in one go ${once.toFixed(0)} ms (${(text.length / 1e3 / once).toFixed(0)} MB/s), in slices ${sliced.toFixed(0)} ms (${(sliced / once).toFixed(2)}x)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
