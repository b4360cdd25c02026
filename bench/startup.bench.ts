/**
 * Start-up: the whole `smtp-cbv check` process on a one-line script and on
 * the parser benchmark's 1 MiB script, against `node -e 0` (Node's own
 * start-up, the floor), in alternating rounds; medians. The target for the
 * one-line check is 0.2 s where Node alone takes 0.08 s: a ratio of 2.5.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultParseLimits } from '../grammars/sieve.js';
import { buildScript } from './sieve-script.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'smtp-cbv.js');
const dir = mkdtempSync(join(tmpdir(), 'smtp-cbv-startup-'));
const small = join(dir, 'one.sieve');
const big = join(dir, 'big.sieve');
writeFileSync(small, 'keep;\n');
writeFileSync(big, buildScript(defaultParseLimits.maxScriptSize));

function timed(args: string[]): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stdout}${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cands: Array<[string, string[]]> = [
  ['node -e 0', ['-e', '0']],
  ['smtp-cbv check (one line)', [bin, 'check', small]],
  ['smtp-cbv check (1 MiB script)', [bin, 'check', big]],
];
try {
  for (const [, args] of cands) timed(args); // warm the file cache
  const samples: number[][] = cands.map(() => []);
  for (let r = 0; r < 11; r++) cands.forEach(([, args], i) => samples[i]!.push(timed(args)));
  const [node, one, whole] = samples.map(median) as [number, number, number];
  cands.forEach(([name], i) => console.log(`${name.padEnd(32)} ${median(samples[i]!).toFixed(0).padStart(6)} ms`));
  console.log(`ratio check (one line) / node -e 0:   ${(one / node).toFixed(2)} (target <= 2.5)`);
  console.log(`ratio check (1 MiB) / node -e 0:      ${(whole / node).toFixed(2)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
