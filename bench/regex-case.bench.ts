/**
 * `body :raw :regex` with 100 keys over a 1 MB body that none of them
 * matches, with the case-insensitive comparator a standard script gets by
 * default (i;ascii-casemap) against i;octet (a Sieve++ script's default).
 * re2js refuses most inputs with one indexOf per literal a pattern needs,
 * but only for case-sensitive literals; src/sieve/match/fold-prefilter.ts
 * does the same for case-insensitive ones. Printed: both scripts, and the
 * engine alone over the same body and keys (what the casemap script cost
 * before the prefilter); medians of alternating rounds.
 */
import { RE2JS } from 're2js';
import { compileSieve } from '../src/sieve/compile.js';
import { executeAsync } from '../src/sieve/interpreter.js';
import { parseMessage } from '../src/sieve/runtime/message.js';

const patterns = Array.from({ length: 100 }, (_, i) => `spam${i}[0-9]+word${i}`);
const keys = `[${patterns.map((p) => `"${p}"`).join(', ')}]`;
const line = 'The quick brown fox jumps over the lazy dog and some more text here 0123456789.\r\n';
const message = parseMessage(`From: joe@example.com\r\nSubject: big\r\n\r\n${line.repeat(Math.ceil((1 << 20) / line.length))}`);
const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };

function script(comparator: string) {
  const r = compileSieve(`require ["body", "regex"${comparator ? ', "comparator-i;octet"' : ''}]; if body :raw :regex ${comparator} ${keys} { discard; }`);
  if (!r.script) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return r.script;
}

async function run(s: ReturnType<typeof script>): Promise<number> {
  const t = performance.now();
  const r = await executeAsync(s, { message, envelope }, {}, { limits: { maxCpuMs: 60_000, maxSteps: 1e9 } });
  if (r.errors.length) throw new Error(r.errors[0]!.message);
  return performance.now() - t;
}

function engineAlone(): number {
  const res = patterns.map((p) => RE2JS.compile(p, RE2JS.LONGEST_MATCH | RE2JS.CASE_INSENSITIVE));
  const t = performance.now();
  for (const re of res) if (re.test(message.body)) throw new Error('matched');
  return performance.now() - t;
}

const casemap = script('');
const octet = script(':comparator "i;octet"');
const samples: Record<'casemap' | 'octet' | 'engine', number[]> = { casemap: [], octet: [], engine: [] };
await run(casemap);
await run(octet);
for (let round = 0; round < 5; round++) {
  samples.casemap.push(await run(casemap));
  samples.octet.push(await run(octet));
  samples.engine.push(engineAlone());
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const [c, o, e] = [median(samples.casemap), median(samples.octet), median(samples.engine)];
console.log(`body :raw :regex, 100 keys, 1 MB, i;ascii-casemap: ${c.toFixed(1)} ms`);
console.log(`body :raw :regex, 100 keys, 1 MB, i;octet:          ${o.toFixed(1)} ms`);
console.log(`re2js alone, case-insensitive, same keys and body:  ${e.toFixed(1)} ms (the casemap script before the prefilter)`);
console.log(`ratio casemap / octet: ${(c / o).toFixed(2)} (target about 1; without the prefilter the casemap script cost the engine-alone line)`);
console.log(`ratio engine alone / casemap: ${(e / c).toFixed(1)}x faster`);
