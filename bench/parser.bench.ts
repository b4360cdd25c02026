/**
 * Sieve parse throughput on a 1 MiB script of realistic policy rules, with
 * two baselines measured in the same run: the lexer alone (the floor any
 * parse pays) and JSON.parse on a document of the same size (a native,
 * highly tuned parser). The ratios are what to watch across changes.
 */
import { performance } from 'node:perf_hooks';
import { lexSieve, parseSieve, defaultParseLimits } from '../grammars/sieve.js';

const rules = [
  (i: number) => `if header :contains ["subject", "x-subject"] ["lottery ${i}", "winner"] {\n  fileinto "Junk";\n  stop;\n}\n`,
  (i: number) => `if allof (address :domain :is "from" "partner${i}.example", not exists "x-spam-flag") {\n  keep;\n}\n`,
  (i: number) => `if envelope :matches "from" "*@bulk${i}.example" {\n  reject text:\nWe do not accept bulk mail (rule ${i}).\n..signed\n.\n;\n}\n`,
  (i: number) => `if size :over ${i % 100}K { discard; } elsif header :regex "received" "from \\\\[10\\\\.${i % 255}\\\\." { redirect "abuse@example.org"; }\n`,
  (i: number) => `# rule ${i}: tagged mail\nif address :localpart :matches "to" "*+tag${i}" { set "folder" "\${1}"; fileinto "lists/\${folder}"; }\n`,
  (i: number) => `$from${i} = envelope :domain "from";\nif ec_test :is "\${from${i}}" "spam${i}.example" { ec_action 550 "5.7.1 no"; }\n`,
];

function buildScript(bytes: number): string {
  const parts = ['require ["fileinto", "reject", "envelope", "regex", "variables", "relational"];\n'];
  let size = parts[0]!.length;
  for (let i = 0; size < bytes; i++) {
    const rule = rules[i % rules.length]!(i);
    if (size + rule.length > bytes) break;
    parts.push(rule);
    size += rule.length;
  }
  return parts.join('');
}

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
