/**
 * The worker thread side of match-pool.ts: matches one large value against
 * a list of keys, with the same match types and comparators the run uses
 * on the main thread, and answers with the first key that matched. It
 * knows no budget: the pool stops the whole thread at the run's deadline
 * (docs/sieve-interpreter.md, "CPU budget and time slices").
 *
 * Patterns are compiled here, once per pattern and comparator, and kept
 * in this thread's cache (regex-match.ts), like the main thread's. It also
 * decodes and encodes large header values (RFC 2047), reads the first
 * address of one, and runs the address test over one (address-match.ts),
 * with the functions the main thread would call.
 */
import { parentPort } from 'node:worker_threads';
import { addressListOf, addressMatch } from './address-match.js';
import type { Address } from '../runtime/address.js';
import type { MatchContext } from './match-types.js';
import { CODEC_OPS } from '../runtime/codec-ops.js';
import type { Ready, WorkerAnswer, WorkerTask } from './match-pool.js';
import { decode, encode } from './worker-bytes.js';
import { WORKER_COMPARATORS as comparators, WORKER_TYPES as types } from './worker-types.js';

/**
 * The addresses of the last large field this thread parsed, by the run's
 * token for it: a policy tests the same From many times (parsing a 10 MB
 * list is most of a second, reading its addresses again some 50 ms).
 * Dropped after a while idle, so an idle thread does not keep them.
 */
let parsed: { token: number; list: Address[] | null } | undefined;
let forget: NodeJS.Timeout | undefined;
const KEEP_PARSED_MS = 2000;

function run(task: WorkerTask): WorkerAnswer {
  const started = performance.now();
  if (task.kind === 'codec') {
    const text = CODEC_OPS[task.op](decode(task));
    return { id: task.id, ms: performance.now() - started, ...encode(task.keep === undefined ? text : text.slice(0, task.keep)) };
  }
  if (task.kind === 'address') {
    const { id, kind: _kind, bytes: _bytes, encoding: _encoding, token, ...spec } = task;
    const raw = decode(task);
    if (parsed?.token !== token) parsed = { token, list: addressListOf(raw) };
    clearTimeout(forget);
    forget = setTimeout(() => (parsed = undefined), KEEP_PARSED_MS).unref();
    return { id, address: true, ...addressMatch(raw, spec, parsed.list), ms: performance.now() - started };
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
    parentPort!.postMessage(a, 'bytes' in a ? [a.bytes] : 'values' in a && a.values ? [a.values.bytes, a.values.lengths] : []);
  } catch (e) {
    parentPort!.postMessage({ id: task.id, error: (e as Error).message });
  }
});
// Listening: tasks sent from now on wait for no start-up, which the pool does not charge to a run.
parentPort!.postMessage('ready' satisfies Ready);
