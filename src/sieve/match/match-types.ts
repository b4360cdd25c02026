/**
 * Match types (RFC 5228 2.7.1) and the one loop that applies them: a test
 * is true when any value matches any key (RFC 5228 2.7.1, "any combination
 * of the list of values and the list of keys"), values outer, keys inner.
 *
 * Each match type is registered by the extension that defines it: :is,
 * :contains and :matches by the core, :value and :count by relational
 * (RFC 5231), :regex by regex.
 */
import type { Comparator } from './comparators.js';
import type { ExternalList } from '../runtime/host.js';
import { matchPool, OFFLOAD_CHARS, outOfMemory, prepare } from './match-pool.js';

/** RFC 5231 section 5: the relational operators. */
export type RelOp = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';
export const REL_OPS: readonly string[] = ['gt', 'ge', 'lt', 'le', 'eq', 'ne'];

export function relationalHolds(op: RelOp, c: number): boolean {
  switch (op) {
    case 'gt':
      return c > 0;
    case 'ge':
      return c >= 0;
    case 'lt':
      return c < 0;
    case 'le':
      return c <= 0;
    case 'eq':
      return c === 0;
    case 'ne':
      return c !== 0;
  }
}

/**
 * A relational operator a language layer adds to RFC 5231's six
 * (language.ts `relationalOps`): it decides from the value and the key
 * themselves, not from the comparator's ordering.
 */
export interface RelationalOp {
  name: string;
  holds(value: string, key: string, cmp: Comparator): boolean;
}

/** Whether :value or :count holds for one value and one key: a layer's operator, else RFC 5231's. */
export function relationHolds(ctx: MatchContext, value: string, key: string): boolean {
  return ctx.relational ? ctx.relational.holds(value, key, ctx.cmp) : relationalHolds(ctx.op!, ctx.cmp.compare(value, key));
}

export interface MatchContext {
  cmp: Comparator;
  /** The relational operator of :value / :count. */
  op?: RelOp;
  /** A language layer's relational operator, when `op` is none of RFC 5231's. */
  relational?: RelationalOp;
  /** True when the caller keeps match values (variables is required). */
  wantCaptures: boolean;
  /** Reports a problem that makes a key unusable without failing the run. */
  warn?(message: string): void;
  /** RFC 6134: the host's list of that (normalised) name, for the :list match type. */
  externalList?(name: string): ExternalList | undefined;
  /** The run's CPU budget (cpu-budget.ts CpuBudget); matching charges it as it scans. */
  budget?: MatchBudget;
  /** The last value :contains or :matches folded, by what, and the result (basic-match.ts). */
  foldFrom?: string;
  foldBy?: (s: string) => string;
  folded?: string;
  /** `folded` split into characters when it has surrogate pairs (:matches), once per value. */
  foldedChars?: string | readonly string[];
}

export interface MatchType {
  name: string;
  /** Takes a relational operator argument (RFC 5231 :value, :count). */
  relational?: boolean;
  /** Needs a comparator that can fold (substring matching); i;ascii-numeric cannot. */
  substring?: boolean;
  /** Sets match variables (RFC 5229 3.2): only :matches and :regex do. */
  captures?: boolean;
  /** Checks a constant key at compile time; returns an error message or null. */
  checkKey?(key: string, cmp: Comparator): string | null;
  /**
   * Matches one value against one key. Returns false, true, or (for the
   * capturing types, when asked) the match values: [whole, group1, ...].
   */
  matchOne?(value: string, key: string, ctx: MatchContext): boolean | string[];
  /**
   * Can be matched in a worker thread over a large value (match-pool.ts):
   * match-worker.ts knows this type by name, with the standard comparators.
   */
  offload?: boolean;
  /** Takes no comparator (RFC 6134 2.2: :list leaves comparing to the list). */
  noComparator?: boolean;
  /** Matches the whole value list at once (:count, :list); a capturing type may answer with its match values. */
  matchAll?(values: string[], keys: string[], ctx: MatchContext): boolean | string[];
  /**
   * `matchAll` holds when one value does, and answers with the first such
   * (:list): a long value list may be matched a part at a time, in order.
   */
  anyValue?: boolean;
  /**
   * `matchOne` for a constant key, made once per script: what depends
   * only on the key and the comparator (folding it, parsing a pattern) is
   * done here, not for every value of every run.
   */
  compileKey?(key: string, cmp: Comparator): KeyMatcher;
}

/** One key made ready by MatchType.compileKey: matches a value against it, as matchOne would. */
export type KeyMatcher = (value: string, ctx: MatchContext) => boolean | string[];

/** What matching needs of the run's CPU budget. */
export interface MatchBudget {
  /** Counts work (about one unit per character scanned); throws the runtime error when the budget is spent. */
  charge(units: number): void;
  /** True when a time-sliced run should let the event loop go before going on. */
  readonly yieldDue: boolean;
  /** Lets the event loop run (a time slice ended); resolves when the run may go on. */
  pause(): Promise<void>;
  /** The time slice in ms; 0 when the caller needs the answer synchronously. */
  readonly sliceMs: number;
  /** What is left of the budget, in ms. */
  readonly remainingMs: number;
  /** Counts time the run's work took elsewhere (a worker thread); throws the runtime error when the budget is spent. */
  spend(ms: number): void;
  /** The run waits (for a worker): stop counting. */
  suspend(): void;
  /** The run computes again after waiting (for a worker): count from now. */
  resume(): void;
}

/** The result of matching a value list against a key list. */
export interface MatchOutcome {
  matched: boolean;
  /** The match values of the first successful match, when the type captures and they were wanted. */
  captures?: string[];
}

/**
 * Values outer, keys inner; the first pair that matches decides. Each pair
 * is charged to the run's budget by the length it scans, so a long list of
 * keys against a large body stops at the budget rather than after it. In a
 * time-sliced run the loop lets the event loop go between pairs when its
 * slice is over, and then answers with a Promise; there, a large value is
 * matched in a worker thread (match-pool.ts), whose time counts too.
 */
export function runMatch(
  mt: MatchType,
  values: Iterable<string>,
  keys: string[],
  ctx: MatchContext,
  /** The keys made ready by compileKey, one for each key, when they are constant. */
  compiled?: readonly KeyMatcher[],
): MatchOutcome | Promise<MatchOutcome> {
  if (mt.matchAll) {
    const list = Array.isArray(values) ? (values as string[]) : Array.from(values);
    let units = keys.length;
    for (const v of list) units += v.length;
    ctx.budget?.charge(units);
    const r = mt.matchAll(list, keys, ctx);
    return r === true ? MATCHED : r === false ? NO_MATCH : { matched: true, captures: r };
  }
  const one = mt.matchOne!;
  const budget = ctx.budget;
  // One match over a large value cannot be split into slices: a run that can wait has it done in a worker.
  if (budget && budget.sliceMs > 0 && mt.offload && OFFLOAD_COMPARATORS.has(ctx.cmp.name)) {
    const list = Array.isArray(values) ? (values as string[]) : Array.from(values);
    if (list.some((v) => v.length >= OFFLOAD_CHARS)) return matchOffloaded(mt, list, keys, ctx, budget);
    values = list;
  }
  // Arrays (nearly every call) by index: no iterator to allocate.
  if (Array.isArray(values)) return matchList(one, compiled, values as string[], 0, 0, keys, ctx, budget);
  return matchList(one, compiled, Array.from(values), 0, 0, keys, ctx, budget);
}

function matchList(
  one: NonNullable<MatchType['matchOne']>,
  compiled: readonly KeyMatcher[] | undefined,
  values: readonly string[],
  fromValue: number,
  fromKey: number,
  keys: string[],
  ctx: MatchContext,
  budget: MatchBudget | undefined,
): MatchOutcome | Promise<MatchOutcome> {
  let k = fromKey;
  for (let v = fromValue; v < values.length; v++, k = 0) {
    const value = values[v]!;
    for (; k < keys.length; k++) {
      const key = keys[k]!;
      if (budget) budget.charge(value.length + key.length);
      const r = compiled ? compiled[k]!(value, ctx) : one(value, key, ctx);
      if (r !== false) return r === true ? MATCHED : { matched: true, captures: r };
      if (budget?.yieldDue) {
        const nextValue = v;
        const nextKey = k + 1;
        return budget.pause().then(() => matchList(one, compiled, values, nextValue, nextKey, keys, ctx, budget));
      }
    }
  }
  return NO_MATCH;
}

/** The comparators match-worker.ts has (RFC 4790 names); i;ascii-numeric cannot do substring matches. */
export const OFFLOAD_COMPARATORS: ReadonlySet<string> = new Set(['i;octet', 'i;ascii-casemap', 'i;unicode-casemap']);

/** Values outer, keys inner, as matchList: the large values in a worker, the others here. */
async function matchOffloaded(mt: MatchType, values: readonly string[], keys: string[], ctx: MatchContext, budget: MatchBudget): Promise<MatchOutcome> {
  for (const value of values) {
    const r = value.length >= OFFLOAD_CHARS ? await inWorker(mt, value, keys, ctx, budget) : await matchList(mt.matchOne!, undefined, [value], 0, 0, keys, ctx, budget);
    if (r.matched) return r;
  }
  return NO_MATCH;
}

/**
 * Matches one value against the keys in a worker thread, stopped when the
 * run's budget is spent. The offload is charged its round trip, from the
 * hand-off to the answer (match-pool.ts; docs/sieve-interpreter.md, "What
 * an offload costs"), and a run with less left than the cheapest recent
 * round trip for a value this long would cost does not start one: it
 * stops here, charged that least cost. Without a worker the value is
 * matched here, as before, with its charges and slices.
 */
export async function inWorker(mt: MatchType, value: string, keys: string[], ctx: MatchContext, budget: MatchBudget): Promise<MatchOutcome> {
  budget.spend(0); // over budget already: stop before sending anything
  const least = matchPool.leastCostMs(value.length, { type: mt.name, comparator: ctx.cmp.name, keys });
  if (least > budget.remainingMs) budget.spend(least);
  const task = prepare({ value, keys, type: mt.name, comparator: ctx.cmp.name, wantCaptures: ctx.wantCaptures });
  // From here the time is the offload's (its round trip: the copy of the value, posting, the worker, the answer): not on the run's clock too.
  budget.suspend();
  const a = await matchPool.match(task, budget.remainingMs);
  // The run waited (its clock stopped); what follows is its own work again.
  budget.resume();
  if (a.kind === 'unavailable') return matchList(mt.matchOne!, undefined, [value], 0, 0, keys, ctx, budget);
  budget.spend(a.ms);
  // Stopped at the deadline: the budget is spent, whatever the clocks say.
  if (a.kind === 'deadline') budget.spend(Math.max(1, budget.remainingMs + 1));
  if (a.kind === 'memory') throw outOfMemory(task.chars);
  if (a.kind !== 'done') return NO_MATCH;
  for (const w of a.warnings) ctx.warn?.(w);
  if (a.index < 0) return NO_MATCH;
  return a.captures ? { matched: true, captures: a.captures } : MATCHED;
}

const NO_MATCH: MatchOutcome = Object.freeze({ matched: false });
const MATCHED: MatchOutcome = Object.freeze({ matched: true });
