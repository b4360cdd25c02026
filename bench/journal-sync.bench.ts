/**
 * The envelope journal's commit (src/delivery/journal-append-thread.ts):
 * how long fdatasync(2) of a record takes when the record grows the file
 * (the baseline: appended) against when it overwrites zeros written and
 * synced ahead of it (as the journal writes now), while the spool's other
 * writes go on beside it: another process makes 1.5 KB files in tmp/ and
 * renames them into new/, 200 at a time, and runs `sync -f` each second,
 * as the checkpoints do (docs/server.md, "The spool"). Rounds alternate,
 * so that the disk's drift weighs on both alike. Reported: the latency
 * percentiles of each, and their ratios (zeros / appended; lower is
 * better).
 */
import { spawn } from 'node:child_process';
import { closeSync, fdatasyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { quantile } from './quantile.js';
import { benchTempDir } from './temp-dirs.js';

const RECORDS = 1500;
const ROUNDS = 6;
const RECORD = Buffer.alloc(1500, 'a');
RECORD[RECORD.length - 1] = 0x0a;

/** The other writes on the spool's file system, in a process of their own: files made and renamed, and a syncfs a second. */
function otherWrites(dir: string) {
  const script = `
    const fs = require('node:fs');
    const { spawnSync } = require('node:child_process');
    const [dir] = process.argv.slice(1);
    const body = Buffer.alloc(1500, 'b');
    let n = 0, last = Date.now();
    const round = () => {
      for (let i = 0; i < 200; i++, n++) {
        const tmp = dir + '/tmp/' + n;
        fs.writeFileSync(tmp, body);
        fs.renameSync(tmp, dir + '/new/' + n);
        if (n % 5000 === 4999) for (const f of fs.readdirSync(dir + '/new')) fs.rmSync(dir + '/new/' + f);
      }
      if (Date.now() - last >= 1000) { spawnSync('sync', ['-f', dir]); last = Date.now(); }
      setTimeout(round, 20);
    };
    round();`;
  return spawn(process.execPath, ['-e', script, dir], { stdio: 'ignore' });
}

/** fdatasync latencies (ms) of RECORDS records, appended to a new file or written over zeros written and synced ahead. */
function commits(file: string, intoZeros: boolean): number[] {
  const fd = openSync(file, 'w');
  try {
    if (intoZeros) {
      writeSync(fd, Buffer.alloc(RECORDS * RECORD.length));
      fdatasyncSync(fd);
    }
    const took: number[] = [];
    for (let i = 0; i < RECORDS; i++) {
      writeSync(fd, RECORD, 0, RECORD.length, i * RECORD.length);
      const t = performance.now();
      fdatasyncSync(fd);
      took.push(performance.now() - t);
    }
    return took;
  } finally {
    closeSync(fd);
  }
}

async function main() {
  const { dir, remove: removeDir } = await benchTempDir('smtp-cbv-bench-journal-');
  for (const sub of ['tmp', 'new', 'envelopes']) mkdirSync(join(dir, sub));
  const load = otherWrites(dir);
  try {
    await new Promise((r) => setTimeout(r, 500));
    const appended: number[] = [];
    const zeros: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const order = r % 2 === 0 ? [false, true] : [true, false];
      for (const intoZeros of order) (intoZeros ? zeros : appended).push(...commits(join(dir, 'envelopes', `${r}-${intoZeros}.journal`), intoZeros));
    }
    appended.sort((a, b) => a - b);
    zeros.sort((a, b) => a - b);
    console.log(`journal commit: fdatasync of a 1.5 KB record, ${RECORDS * ROUNDS} each, beside files made and renamed and a syncfs a second`);
    const row = (name: string, xs: number[]) => console.log(`  ${name.padEnd(34)} p50 ${quantile(xs, 0.5).toFixed(2)} ms  p90 ${quantile(xs, 0.9).toFixed(2)}  p99 ${quantile(xs, 0.99).toFixed(2)}  longest ${xs[xs.length - 1]!.toFixed(1)}`);
    row('baseline: appended (file grows)', appended);
    row('into zeros written ahead', zeros);
    const ratio = (q: number) => (quantile(zeros, q) / quantile(appended, q)).toFixed(2);
    console.log(`  ratio zeros / appended: p50 ${ratio(0.5)}, p90 ${ratio(0.9)}, p99 ${ratio(0.99)}`);
  } finally {
    load.kill();
    await removeDir();
  }
}

await main();
