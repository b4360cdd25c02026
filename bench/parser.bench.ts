/**
 * Sieve parse throughput on a 1 MiB script of realistic policy rules, with
 * two baselines measured in the same run: the lexer alone (the floor any
 * parse pays) and JSON.parse on a document of the same size (a native,
 * highly tuned parser). The ratios are what to watch across changes.
 */
import { performance } from 'node:perf_hooks';
import { lexSieve, parseSieve, defaultParseLimits } from '../grammars/sieve.js';
import { buildScript } from './sieve-script.js';

function measure(label: string, bytes: number, fn: () => void): number {
  for (let i = 0; i < 3; i++) fn(); // warm up the JIT
  const runs = 15;
  const start = performance.now();
  for (let i = 0; i < runs; i++) fn();
  const seconds = (performance.now() - start) / 1000;
  const mbps = (bytes * runs) / (1024 * 1024) / seconds;
  console.log(`${label.padEnd(34)} ${mbps.toFixed(1).padStart(7)} MB/s`);
  return mbps;
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
const jsonMbps = measure(`baseline: JSON.parse (${(jsonBytes / 1048576).toFixed(1)} MiB)`, jsonBytes, () => JSON.parse(json));

console.log(`ratio parse / lex-only:   ${(parse / lex).toFixed(2)}`);
console.log(`ratio parse / JSON.parse: ${(parse / jsonMbps).toFixed(3)}`);
