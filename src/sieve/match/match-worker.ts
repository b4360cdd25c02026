/**
 * The worker thread side of match-pool.ts: matches one large value against
 * a list of keys, with the same match types and comparators the run uses
 * on the main thread, and answers with the first key that matched. It
 * knows no budget: the pool stops the whole thread at the run's deadline
 * (docs/sieve-interpreter.md, "CPU budget and time slices").
 *
 * Patterns are compiled here, once per pattern and comparator, and kept
 * in this thread's cache (regex-match.ts), like the main thread's. It also
 * decodes and encodes large header values (RFC 2047), and reads the first
 * address of one, with the functions the main thread would call.
 */
import { parentPort } from 'node:worker_threads';
import { containsMatch, matchesMatch } from './basic-match.js';
import { asciiCasemap, type Comparator, octet, unicodeCasemap } from './comparators.js';
import type { MatchContext, MatchType } from './match-types.js';
import { CODEC_OPS } from '../runtime/codec-ops.js';
import type { Ready, WorkerAnswer, WorkerTask } from './match-pool.js';
import { decode, encode } from './worker-bytes.js';
import { perlRegexMatch, regexMatch } from './regex-match.js';

const types = new Map<string, MatchType>([containsMatch, matchesMatch, regexMatch, perlRegexMatch].map((t) => [t.name, t]));
const comparators = new Map<string, Comparator>([octet, asciiCasemap, unicodeCasemap].map((c) => [c.name, c]));

function run(task: WorkerTask): WorkerAnswer {
  const started = performance.now();
  if (task.kind === 'codec') {
    const text = CODEC_OPS[task.op](decode(task));
    return { id: task.id, ms: performance.now() - started, ...encode(task.keep === undefined ? text : text.slice(0, task.keep)) };
  }
  const warnings: string[] = [];
  const mt = types.get(task.type);
  const cmp = comparators.get(task.comparator);
  if (!mt?.matchOne || !cmp) throw new Error(`no match type ${task.type} with comparator ${task.comparator} in the match worker`);
  const ctx: MatchContext = { cmp, wantCaptures: task.wantCaptures, warn: (m) => warnings.push(m) };
  const value = decode(task);
  for (let k = 0; k < task.keys.length; k++) {
    const r = mt.matchOne(value, task.keys[k]!, ctx);
    if (r !== false) return { id: task.id, index: k, ...(r === true ? {} : { captures: r }), warnings, ms: performance.now() - started };
  }
  return { id: task.id, index: -1, warnings, ms: performance.now() - started };
}

parentPort!.on('message', (task: WorkerTask) => {
  try {
    const a = run(task);
    parentPort!.postMessage(a, 'bytes' in a ? [a.bytes] : []);
  } catch (e) {
    parentPort!.postMessage({ id: task.id, error: (e as Error).message });
  }
});
// Listening: tasks sent from now on wait for no start-up, which the pool does not charge to a run.
parentPort!.postMessage('ready' satisfies Ready);
