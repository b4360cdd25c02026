/**
 * The address test (RFC 5228 5.1) over the address lists of header fields:
 * each field value parsed once per run, charged to the run's budget by its
 * length, and, when the fields a test reads are large, read a field at a
 * time in a time-sliced run (docs/sieve-interpreter.md, "CPU budget and
 * time slices"). A client can send a From of megabytes: parsing it is one
 * call that cannot be cut into slices (an address ends wherever its display
 * name or comment does, RFC 5322 3.4), 0.7-0.9 s for a list of 600,000
 * addresses. A field of OFFLOAD_CHARS or more goes to the match worker,
 * which parses it, takes the address part and matches it
 * (match/address-match.ts) and answers with the outcome only: making its
 * addresses again here took 160-270 ms, their parts 70-100 ms more.
 * Smaller fields are read here, with the run letting the event loop go
 * between fields when its slice is over.
 */
import { matched, matchSetup } from '../interpreter.js';
import { type AddressMatchAnswer, type AddressMatchSpec, addressListOf, type PackedValues, unpackValues } from '../match/address-match.js';
import { matchPool, OFFLOAD_CHARS, outOfMemory, prepare } from '../match/match-pool.js';
import { type MatchBudget, type MatchContext, type MatchOutcome, type MatchType, runMatch } from '../match/match-types.js';
import { inWorkerTables } from '../match/worker-types.js';
import type { Bound } from '../registry.js';
import type { Address } from '../runtime/address.js';
import { allPart, type AddressPart, domainPart, localPart, partValue } from '../runtime/address-parts.js';
import { memoTable } from '../runtime/memo.js';
import type { Runtime } from '../runtime/runtime.js';
import { countHolds, countMatch } from './relational.js';
import { delimitersOf, detailPart, userPart } from './subaddress.js';

/** Per run: addresses by raw value; the tokens that name large values to the worker. */
const ADDRESSES = memoTable();
const TOKENS = memoTable();
let tokens = 0;
const nextToken = (): number => ++tokens;

/** The addresses of one field value, parsed once per run and charged by its length; null when it is not an address list. */
function addressesOf(rt: Runtime, raw: string): Address[] | null {
  return rt.memoize(ADDRESSES, raw, readAddresses, rt);
}
function readAddresses(raw: string, rt: Runtime): Address[] {
  // The worker's reading of a field (address-match.ts), so that both give the same addresses.
  const list = addressListOf(raw) ?? NOT_ADDRESSES;
  // Charged once it is done: the clock read then sees the parse, and a slice it ended is over before the next field.
  rt.budget.charge(raw.length);
  return list;
}
const NOT_ADDRESSES: Address[] = [];

/** Every address part value of the given field values: what the address test compares. */
export function addressValues(rt: Runtime, fields: readonly string[], part: AddressPart): string[] {
  const out: string[] = [];
  for (const raw of fields) {
    const list = addressesOf(rt, raw);
    if (list === NOT_ADDRESSES) {
      const v = partValue(part, { valid: false, raw: raw.trim() }, rt);
      if (v !== null) out.push(v);
      continue;
    }
    for (const a of list!) {
      const v = part.extract(a, rt);
      if (v !== null) out.push(v);
    }
  }
  return out;
}

/**
 * True when a test over these field values is read in pieces: a run that
 * can wait, and fields that are long together (one large field, or many
 * just under the worker's size, which one step would read whole).
 */
export function inPieces(rt: Runtime, fields: readonly string[]): boolean {
  if (rt.budget.sliceMs <= 0) return false;
  let n = 0;
  for (const f of fields) if ((n += f.length) >= OFFLOAD_CHARS) return true;
  return false;
}

/** The address parts the worker takes (match/address-match.ts WORKER_PARTS), by the run's definitions. */
const WORKER_PART_NAMES = new Map<AddressPart, string>([allPart, localPart, domainPart, userPart, detailPart].map((p) => [p, p.name]));

/**
 * The address test over `fields`, a field at a time: values outer, keys
 * inner, as the whole list would be matched, so the first field that
 * matches decides, with its match values. :count adds up the fields'
 * counts (RFC 5231 4.2: the number of addresses). A large field goes to
 * the worker when it has the test's address part, match type and
 * comparator. For :list (RFC 6134 2.2, whose lists only the host can read)
 * the worker parses a large field and answers with its part values, which
 * the run takes in a slice at a time; only a part the worker lacks has a
 * large field read here.
 */
export async function addressTestInPieces(b: Bound, rt: Runtime, fields: readonly string[], part: AddressPart, keys: string[]): Promise<boolean> {
  const { mt, ctx, wantCaptures } = matchSetup(b, rt);
  const budget = rt.budget;
  const partName = WORKER_PART_NAMES.get(part);
  const delimiters = partName === 'user' || partName === 'detail' ? delimitersOf(rt) : '';
  const spec: AddressMatchSpec | undefined =
    // A language layer's relational operator is not in the worker's tables: those are matched here.
    partName && inWorkerTables(mt, ctx.cmp) && !ctx.relational ? { part: partName, delimiters, type: mt.name, comparator: ctx.cmp.name, op: ctx.op, keys, wantCaptures: ctx.wantCaptures } : undefined;
  const counting = mt === countMatch && spec !== undefined;
  // A type over the whole list the worker cannot apply (:list): the values, gathered a field at a time.
  const gathered: string[] | undefined = mt.matchAll && !counting ? [] : undefined;
  // Large fields for it are parsed in the worker, which answers with their part values.
  const valuesSpec: AddressMatchSpec | undefined = gathered && partName ? { part: partName, delimiters, type: 'is', comparator: 'i;octet', keys: [], wantCaptures: false, values: true } : undefined;
  let count = 0;
  for (let i = 0; i < fields.length; i++) {
    // Between fields, so that fields just under the worker's size are not all read in one step.
    if (i > 0 && budget.yieldDue) await budget.pause();
    const raw = fields[i]!;
    const large = raw.length >= OFFLOAD_CHARS;
    if (large && valuesSpec && gathered) {
      const v = await inWorker(raw, rt.memoize(TOKENS, raw, nextToken, undefined), valuesSpec, budget);
      if (v?.values) {
        await gatherInSlices(v.values, gathered, budget);
        continue;
      }
    }
    const a = spec && large ? await inWorker(raw, rt.memoize(TOKENS, raw, nextToken, undefined), spec, budget) : undefined;
    if (a) {
      for (const w of a.warnings) ctx.warn?.(w);
      if (counting) count += a.count;
      else if (a.index >= 0) return matched(a.captures ? { matched: true, captures: a.captures } : MATCHED, rt, wantCaptures);
      continue;
    }
    const values = addressValues(rt, [raw], part);
    if (counting) count += values.length;
    else if (gathered) for (const v of values) gathered.push(v);
    else {
      const r = runMatch(mt, values, keys, ctx);
      // Awaited only when it is a Promise (a slice ended, it resumes the clock): a microtask turn would run with the clock stopped.
      const o = r instanceof Promise ? await r : r;
      if (o.matched) return matched(o, rt, wantCaptures);
    }
  }
  if (counting) {
    budget.charge(keys.length);
    return countHolds(count, keys, ctx);
  }
  if (!gathered) return false;
  if (mt.anyValue && gathered.length > GATHER_STEP) return matched(await anyValueInSlices(mt, gathered, keys, ctx, budget), rt, wantCaptures);
  const r = runMatch(mt, gathered, keys, ctx);
  return matched(r instanceof Promise ? await r : r, rt, wantCaptures);
}

/**
 * A type that one value decides (:list) over a long value list: matched a
 * part at a time, in order, the run letting the event loop go between
 * parts when its slice is over. Asked in one step, the host's lists held
 * every session 120 ms for a From of 550,000 addresses. A warning (a key
 * that names no list) is given once, as one call over the whole list gives it.
 */
async function anyValueInSlices(mt: MatchType, values: string[], keys: string[], ctx: MatchContext, budget: MatchBudget): Promise<MatchOutcome> {
  const warned = new Set<string>();
  const once: MatchContext = {
    ...ctx,
    warn: (m) => {
      if (warned.has(m)) return;
      warned.add(m);
      ctx.warn?.(m);
    },
  };
  for (let i = 0; i < values.length; i += GATHER_STEP) {
    const r = runMatch(mt, values.slice(i, i + GATHER_STEP), keys, once);
    const o = r instanceof Promise ? await r : r;
    if (o.matched) return o;
    if (budget.yieldDue) await budget.pause();
  }
  return NO_MATCH;
}

const NO_MATCH: MatchOutcome = Object.freeze({ matched: false });

const MATCHED: MatchOutcome = Object.freeze({ matched: true });

/** Values taken from the worker's answer between two looks at the clock. */
const GATHER_STEP = 4096;

/**
 * The part values of the worker's answer onto `gathered`, in order, charged
 * by their length, the run letting the event loop go when its slice is
 * over: a 10 MB From gives some 600,000 of them.
 */
async function gatherInSlices(packed: PackedValues, gathered: string[], budget: MatchBudget): Promise<void> {
  const { text, lengths } = unpackValues(packed);
  let at = 0;
  for (let i = 0; i < lengths.length; ) {
    const end = Math.min(lengths.length, i + GATHER_STEP);
    const first = i;
    const from = at;
    for (; i < end; i++) {
      const n = lengths[i]!;
      gathered.push(text.slice(at, at + n));
      at += n;
    }
    // A unit per character and one per value taken.
    budget.charge(at - from + (end - first));
    if (budget.yieldDue) await budget.pause();
  }
}

/**
 * One field's address test in the worker, stopped when the run's budget is
 * spent, charged its round trip (match-pool.ts; "What an offload costs"); a
 * run with less left than the cheapest recent round trip for a value this
 * long does not start one. Undefined when no worker can do it: the field is
 * then read on the event loop, as before.
 */
async function inWorker(raw: string, token: number, spec: AddressMatchSpec, budget: MatchBudget): Promise<AddressMatchAnswer | undefined> {
  budget.spend(0); // over budget already: stop before sending anything
  const least = matchPool.leastCostMs(raw.length);
  if (least > budget.remainingMs) budget.spend(least);
  // From here the time is the offload's (its round trip, the copy of the value included).
  const task = prepare({ ...spec, value: raw, token });
  budget.suspend();
  const a = await matchPool.address(task, budget.remainingMs);
  // The run waited (its clock stopped); what follows is its own work again.
  budget.resume();
  if (a.kind === 'unavailable') return undefined;
  budget.spend(a.ms);
  // Stopped at the deadline: the budget is spent, whatever the clocks say (spend throws the runtime error).
  if (a.kind === 'deadline') budget.spend(Math.max(1, budget.remainingMs + 1));
  if (a.kind === 'memory') throw outOfMemory(task.chars);
  return a.kind === 'done' ? a : undefined;
}
