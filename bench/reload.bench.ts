/**
 * The longest turn of the event loop while a server compiles its policy
 * (start-up, and every reload, with every session waiting on the same
 * loop): the benchmark's 1 MiB script compiled in slices, as the server
 * compiles it (compileSieveInSlices: the lexing in one turn, the parse and
 * validation in turns of 10 ms), against the same compile in one turn (compileSieve), in
 * alternating rounds. A timer every millisecond finds the longest gap; the
 * total time of each compile is printed too. The same rules wrapped in one
 * `if` (one top-level rule, whose block is parsed and validated in turns
 * of its own) are compiled in slices too, and so is one rule whose test
 * list (`anyof`) fills the size limit, and a small policy that includes
 * the benchmark script inside an `if` (RFC 6609: the included script is
 * compiled with the including one).
 */
import { performance } from 'node:perf_hooks';
import { compileSieve, compileSieveInSlices } from '../src/sievepp/compile.js';
import { defaultParseLimits } from '../grammars/sieve.js';
import { buildScript } from './sieve-script.js';

const ROUNDS = 6;
const text = buildScript(defaultParseLimits.maxScriptSize);
/** One rule: `anyof` of as many header tests as fit in the size limit. */
const oneList = ((limit: number) => {
  const tests: string[] = [];
  for (let size = 64, i = 0; size < limit; i++) {
    const t = `header :contains "subject" "spam word ${i}"`;
    tests.push(t);
    size += t.length + 2;
  }
  return `require "fileinto";\nif anyof (${tests.join(', ')}) { fileinto "Junk"; }\n`;
})(defaultParseLimits.maxScriptSize - 64);
/** The same rules inside `if true { ... }`, still within the size limit. */
const wrapped = ((t: string) => {
  const nl = t.indexOf('\n');
  return `${t.slice(0, nl + 1)}if true {\n${t.slice(nl + 1)}\n}\n`;
})(buildScript(defaultParseLimits.maxScriptSize - 64));
const options = { file: 'data.siv', phase: 'data' };
/** A policy of one small rule that includes the benchmark script, and how it finds it. */
const including = 'require "include";\nif true { include "big"; }\n';
const includeOptions = { ...options, loadScript: (name: string) => (name === 'big' ? text : null) };

/** Runs `compile` while a 1 ms timer watches the event loop: its longest gap and its total time, in ms. */
async function watched(compile: () => unknown): Promise<{ longest: number; total: number }> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  await compile();
  const total = performance.now() - started;
  longest = Math.max(longest, performance.now() - last);
  clearInterval(timer);
  return { longest, total };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

async function main() {
  const check = compileSieve(text, options);
  if (!check.script) throw new Error(`the benchmark script does not compile: ${check.diagnostics[0]?.message}`);
  // Warm up both paths (a reload finds the compiler's code warm: start-up ran it).
  for (let i = 0; i < 2; i++) {
    await watched(() => compileSieveInSlices(text, { ...options, sliceMs: 10 }));
    await watched(() => compileSieve(text, options));
  }
  if (!compileSieve(wrapped, options).script) throw new Error('the wrapped benchmark script does not compile');
  if (!compileSieve(oneList, options).script) throw new Error('the test-list benchmark script does not compile');
  await watched(() => compileSieveInSlices(wrapped, { ...options, sliceMs: 10 }));
  await watched(() => compileSieveInSlices(oneList, { ...options, sliceMs: 10 }));
  if (!compileSieve(including, includeOptions).script) throw new Error('the including script does not compile');
  await watched(() => compileSieveInSlices(including, { ...includeOptions, sliceMs: 10 }));
  const sliced: Array<{ longest: number; total: number }> = [];
  const whole: Array<{ longest: number; total: number }> = [];
  const inOneRule: Array<{ longest: number; total: number }> = [];
  const inOneList: Array<{ longest: number; total: number }> = [];
  const included: Array<{ longest: number; total: number }> = [];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? ['sliced', 'whole', 'wrapped', 'list', 'include'] : ['include', 'list', 'wrapped', 'whole', 'sliced'];
    for (const which of order) {
      if (which === 'sliced') sliced.push(await watched(() => compileSieveInSlices(text, { ...options, sliceMs: 10 })));
      else if (which === 'wrapped') inOneRule.push(await watched(() => compileSieveInSlices(wrapped, { ...options, sliceMs: 10 })));
      else if (which === 'list') inOneList.push(await watched(() => compileSieveInSlices(oneList, { ...options, sliceMs: 10 })));
      else if (which === 'include') included.push(await watched(() => compileSieveInSlices(including, { ...includeOptions, sliceMs: 10 })));
      else whole.push(await watched(() => compileSieve(text, options)));
    }
  }
  const show = (xs: Array<{ longest: number; total: number }>) =>
    `longest turn ${median(xs.map((x) => x.longest)).toFixed(0).padStart(4)} ms (rounds ${xs.map((x) => x.longest.toFixed(0)).join(', ')}), compile ${median(xs.map((x) => x.total)).toFixed(0)} ms`;
  console.log(`compiling the ${text.length}-byte script (${check.script.commands.length} top-level rules) while serving, medians of ${ROUNDS} alternating rounds:`);
  console.log(`  baseline: in one turn (compileSieve)     ${show(whole)}`);
  console.log(`  in slices, as the server compiles        ${show(sliced)}`);
  console.log(`  the same rules in one if, in slices      ${show(inOneRule)}`);
  console.log(`  one rule, anyof of tests, in slices      ${show(inOneList)}`);
  console.log(`  included inside an if, in slices        ${show(included)}`);
  console.log(`  ratio longest turn, slices / one turn: ${(median(sliced.map((x) => x.longest)) / median(whole.map((x) => x.longest))).toFixed(2)}`);
}

await main();
