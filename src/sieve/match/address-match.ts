/**
 * The address test (RFC 5228 5.1) over one header field value, whole: the
 * value parsed as an address list, an address part taken from each address
 * (2.7.4; :user and :detail, RFC 5233), and the match type with its
 * comparator applied, values outer, keys inner (2.7.1). The match worker
 * does this for a large value (extensions/address-in-pieces.ts): a From of
 * 10 MB can be a list of 600,000 addresses, and parsing it is one call of
 * most of a second that cannot be cut into time slices; making its
 * addresses again on the event loop from the worker's answer took
 * 160-270 ms more, so the worker answers with the outcome only
 * (docs/sieve-interpreter.md, "CPU budget and time slices").
 *
 * The parse and the parts are the functions the event loop's address test
 * uses (runtime/address.ts, address-parts.ts, subaddress.ts), so the answer
 * is the same wherever it is computed.
 */
import { formatAddress, parseAddressList, type Address } from '../runtime/address.js';
import { detailOf, userOf } from '../extensions/subaddress.js';
import type { MatchContext, RelOp } from './match-types.js';
import { WORKER_COMPARATORS, WORKER_TYPES } from './worker-types.js';
import { decode, encode, type WorkerBytes } from './worker-bytes.js';

/** The address parts the worker can take, by name; `delimiters` are RFC 5233's separator characters. */
export const WORKER_PARTS: Readonly<Record<string, (a: Address, delimiters: string) => string | null>> = {
  all: formatAddress,
  localpart: (a) => a.local,
  domain: (a) => a.domain,
  user: (a, d) => userOf(a.local, d),
  detail: (a, d) => detailOf(a.local, d),
};

/** What the address test asks of one field value, besides the value itself. */
export interface AddressMatchSpec {
  /** The address part's name (WORKER_PARTS). */
  part: string;
  /** The host's subaddress separators, for :user and :detail. */
  delimiters: string;
  /** The match type's and comparator's names (worker-types.ts). */
  type: string;
  comparator: string;
  /** The relational operator of :value (RFC 5231). */
  op?: RelOp;
  keys: string[];
  wantCaptures: boolean;
  /**
   * Answer with the part values themselves instead of matching them: for
   * :list (RFC 6134 2.2), whose lists only the run's host can read. The
   * match type, comparator and keys are then not used.
   */
  values?: boolean;
}

/** The answer: the first key a value matched (-1: none) with its match values, the number of values, warnings. */
export interface AddressMatchAnswer {
  index: number;
  captures?: string[];
  /** How many part values the field gave: what :count counts (RFC 5231 4.2). */
  count: number;
  warnings: string[];
  /** The part values, when the spec asked for them (packValues). */
  values?: PackedValues;
}

/**
 * Strings as one run of bytes (worker-bytes.ts) and each one's length in
 * UTF-16 units, both moved to the other thread rather than copied: a value
 * may hold any character, so no separator could tell two values apart.
 */
export type PackedValues = WorkerBytes & { lengths: ArrayBuffer };

export function packValues(values: readonly string[]): PackedValues {
  const lengths = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) lengths[i] = values[i]!.length;
  return { ...encode(values.join('')), lengths: lengths.buffer };
}

/** The values packValues packed, in order. */
export function unpackValues(p: PackedValues): { text: string; lengths: Uint32Array } {
  return { text: decode(p), lengths: new Uint32Array(p.lengths) };
}

/** A field value's addresses; null when it is not an address list (an empty value is not one). */
export const addressListOf = (raw: string): Address[] | null => (raw.trim() === '' ? null : parseAddressList(raw));

/**
 * The part values of one field value: one per address that has the part.
 * A value that is not an address list is one invalid address, whose text
 * only :all sees (RFC 5228 2.7.4).
 */
export function fieldPartValues(raw: string, part: string, delimiters: string, list = addressListOf(raw)): string[] {
  if (!list) return part === 'all' ? [raw.trim()] : [];
  const extract = WORKER_PARTS[part]!;
  const out: string[] = [];
  for (const a of list) {
    const v = extract(a, delimiters);
    if (v !== null) out.push(v);
  }
  return out;
}

/**
 * The address test over one field value. For :count (a match type over the
 * whole value list) only the count is answered: the run adds the counts of
 * every field it read and compares their sum with the keys.
 */
export function addressMatch(raw: string, spec: AddressMatchSpec, list = addressListOf(raw)): AddressMatchAnswer {
  const values = fieldPartValues(raw, spec.part, spec.delimiters, list);
  const warnings: string[] = [];
  if (spec.values) return { index: -1, count: values.length, warnings, values: packValues(values) };
  const mt = WORKER_TYPES.get(spec.type);
  const cmp = WORKER_COMPARATORS.get(spec.comparator);
  if (!mt || !cmp) throw new Error(`no match type ${spec.type} with comparator ${spec.comparator} in the match worker`);
  if (mt.matchAll || !mt.matchOne) return { index: -1, count: values.length, warnings };
  const ctx: MatchContext = { cmp, op: spec.op, wantCaptures: spec.wantCaptures, warn: (m) => warnings.push(m) };
  for (const value of values) {
    for (let k = 0; k < spec.keys.length; k++) {
      const r = mt.matchOne(value, spec.keys[k]!, ctx);
      if (r !== false) return { index: k, ...(r === true ? {} : { captures: r }), count: values.length, warnings };
    }
  }
  return { index: -1, count: values.length, warnings };
}
