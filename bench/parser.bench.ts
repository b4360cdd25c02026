/**
 * Sieve parse throughput on a 1 MiB script of realistic policy rules, with
 * baselines measured in the same run: the lexer alone (the floor any parse
 * pays), Chevrotain's own lexer over the token patterns of
 * grammars/sieve-lexer.ts (which the hand-written lexer replaced; earlier
 * runs' "lex only" figures are this one), and JSON.parse on a document of
 * the same size (a native, highly tuned parser). The ratios are what to
 * watch across changes.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { lexSieve, parseSieve, defaultParseLimits } from '../grammars/sieve.js';
import { buildScript } from './sieve-script.js';
import { mainThreadCpuMs } from './thread-cpu.js';
import { Lexer } from '../grammars/chevrotain.js';
import { allTokens, sieveLexerConfig } from '../grammars/sieve-lexer.js';

/**
 * Throughput by wall-clock time, by the process's CPU time, by the main
 * thread's, and by the fastest of five rounds of three runs. On a shared
 * machine the wall clock counts other processes' turns, so a CPU figure is
 * the one to compare between runs. The process's includes V8's collector
 * threads, which scavenge in parallel with the main thread (for a parse, a
 * third more CPU than its wall-clock time); the main thread's is the parse
 * itself and the collection work it waits for. Each round pays its own
 * collections, and other processes only ever slow a round, so the fastest
 * round is the closest to the code's own cost.
 */
function measure(label: string, bytes: number, fn: () => void): { wall: number; cpu: number; best: number } {
  for (let i = 0; i < 3; i++) fn(); // warm up the JIT
  const rounds = 5;
  const perRound = 3;
  const runs = rounds * perRound;
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuMs();
  const start = performance.now();
  let fastest = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (let i = 0; i < perRound; i++) fn();
    fastest = Math.min(fastest, performance.now() - t);
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu0);
  const mainSeconds = (mainThreadCpuMs() - main0) / 1000;
  const cpuSeconds = (used.user + used.system) / 1e6;
  const mebibytes = (bytes * runs) / (1024 * 1024);
  const wall = mebibytes / seconds;
  const cpu = mebibytes / cpuSeconds;
  const best = (mebibytes / rounds) / (fastest / 1000);
  const main = mainSeconds > 0 ? `, main thread ${(mebibytes / mainSeconds).toFixed(1)} MB/s` : '';
  console.log(`${label.padEnd(34)} ${wall.toFixed(1).padStart(7)} MB/s  (by CPU time ${cpu.toFixed(1)} MB/s${main}; best round ${best.toFixed(1)} MB/s)`);
  return { wall, cpu, best };
}

const script = buildScript(defaultParseLimits.maxScriptSize);
const bytes = Buffer.byteLength(script);
const check = parseSieve(script);
if (check.diagnostics.length) throw new Error(`benchmark script does not parse: ${check.diagnostics[0]!.message}`);
console.log(`script: ${bytes} bytes, ${check.script.commands.length} top-level commands`);

const json = JSON.stringify(check.script.commands.slice(0, Math.ceil(check.script.commands.length / 2)));
const jsonBytes = Buffer.byteLength(json);

const parse = measure('parse (lex + parse + AST)', bytes, () => parseSieve(script));
const lex = measure('baseline: lex only', bytes, () => lexSieve(script, defaultParseLimits));
const chevrotainLexer = new Lexer(allTokens, sieveLexerConfig);
const chevrotain = measure("baseline: Chevrotain's lexer", bytes, () => chevrotainLexer.tokenize(script));
const jsonRate = measure(`baseline: JSON.parse (${(jsonBytes / 1048576).toFixed(1)} MiB)`, jsonBytes, () => JSON.parse(json));

console.log(`ratio parse / lex-only:   ${(parse.wall / lex.wall).toFixed(2)}  (by CPU time ${(parse.cpu / lex.cpu).toFixed(2)}; best rounds ${(parse.best / lex.best).toFixed(2)})`);
console.log(`ratio parse / Chevrotain's lexer: ${(parse.wall / chevrotain.wall).toFixed(2)}  (by CPU time ${(parse.cpu / chevrotain.cpu).toFixed(2)})`);
console.log(`ratio parse / JSON.parse: ${(parse.wall / jsonRate.wall).toFixed(3)}  (by CPU time ${(parse.cpu / jsonRate.cpu).toFixed(3)})`);
