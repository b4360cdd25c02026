/**
 * RFC 5228 section 5: the message tests address, header, exists and size.
 */
import { compileMatch, constantList, matchTest } from '../interpreter.js';
import type { MaybePromise } from '../registry.js';
import type { Bound, CommandDef } from '../registry.js';
import { allPart, type AddressPart } from '../runtime/address-parts.js';
import { addressTestInPieces, addressValues, inPieces } from './address-in-pieces.js';
import { codecInWorker, decodesInWorker } from '../runtime/header-codec.js';
import { decodedHeaderValue, hasHeaderField, indexedHeaderValues, type SieveMessage } from '../runtime/message.js';
import { afterMimeTree } from '../runtime/mime.js';
import { currentPart, mimeFields } from '../runtime/mime-current-part.js';
import { type MemoTable, memoSlot, memoTable } from '../runtime/memo.js';
import type { Runtime } from '../runtime/runtime.js';
import { mimeOptionValues } from './mime.js';
import type { Validator } from '../validate.js';

const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

/**
 * RFC 5322 3.6.8: a constant header name that is not a valid field name can
 * never match: a warning, as in Pigeonhole, not an error.
 */
export function checkHeaderNames(b: Bound, v: Validator, index: number): boolean {
  const arg = b.args[index];
  if (!arg || arg.kind === 'number') return true;
  const templates = arg.kind === 'stringlist' ? arg.templates : [arg.template];
  for (const t of templates) {
    if (typeof t === 'string' && !FIELD_NAME.test(t)) {
      v.warning(arg.node.pos, `specified header field name '${t}' is invalid`);
      return true;
    }
  }
  return true;
}

/** RFC 5228 5.1: headers the address test may read (Pigeonhole's list). */
const ADDRESS_HEADERS = new Set([
  'from', 'to', 'cc', 'bcc', 'sender', 'resent-from', 'resent-to',
  'reply-to', 'resent-reply-to', 'resent-sender', 'resent-cc', 'resent-bcc',
  'for-approval', 'for-handling', 'for-comment', 'apparently-to', 'errors-to',
  'delivered-to', 'return-receipt-to', 'x-admin', 'read-receipt-to',
  'x-confirm-reading-to', 'return-receipt-requested', 'registered-mail-reply-requested-by',
  'mail-followup-to', 'mail-reply-to', 'abuse-reports-to', 'x-complaints-to',
  'x-report-abuse-to', 'x-beenthere', 'x-original-from', 'x-original-to',
]);

/**
 * A header or address test without :index or :mime reads whole fields by
 * name, which a run can keep; marked at validation (Bound.data), so that
 * a run does not look its tags up every time.
 */
const PLAIN = Symbol('plain fields');
function markPlain(b: Bound): void {
  if (!b.tags.has('mime') && !b.tags.has('index')) b.data = PLAIN;
}

/** Per run: decoded values by raw value and by field name. */
const DECODED = memoTable();
const DECODED_FIELDS = memoTable();

/** The raw values of the fields of this name, from the message's index (message.ts). */
const fieldsNamed = (msg: SieveMessage, name: string): readonly string[] => indexedHeaderValues(msg, name.toLowerCase());

/**
 * The raw values of the named fields: per name in order, or, with the index
 * extension's `:index N [:last]` (RFC 5260 6), the one occurrence counted
 * over all named fields in message order.
 */
export function selectedFields(msg: SieveMessage, names: string[], b: Bound, rt: Runtime): readonly string[] {
  // RFC 5703 4: with the mime extension's :mime, the fields of MIME parts.
  if (b.tags.has('mime')) return mimeFields(msg, rt.state, names, b.tags.has('anychild'));
  const index = b.tags.get('index');
  // A policy reads the same fields many times: look each name up once per run.
  if (!index) return names.length === 1 ? fieldsNamed(msg, names[0]!) : names.flatMap((n) => fieldsNamed(msg, n));
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const all = msg.headers.filter((h) => wanted.has(h.lname)).map((h) => h.value);
  const n = Number(rt.string(index.args[0]!));
  const v = b.tags.has('last') ? all[all.length - n] : all[n - 1];
  return n >= 1 && v !== undefined ? [v] : [];
}

/**
 * Per address part, a memo table of the part's values by field name: a
 * policy compares the same field's addresses in many tests.
 */
const readers = new Map<AddressPart, { table: MemoTable; read: (name: string, rt: Runtime) => string[] }>();
function readerOf(part: AddressPart): { table: MemoTable; read: (name: string, rt: Runtime) => string[] } {
  let r = readers.get(part);
  if (!r) {
    r = { table: memoTable(), read: (name, rt) => addressValues(rt, fieldsNamed(rt.message!, name), part) };
    readers.set(part, r);
  }
  return r;
}

const memoAddresses = (rt: Runtime, r: ReturnType<typeof readerOf>, name: string) => rt.memoize(r.table, name, r.read, rt);

export const addressTest: CommandDef = {
  name: 'address',
  kind: 'test',
  families: ['address-part', 'comparator', 'match-type'],
  positional: [
    { name: 'header list', type: 'stringlist' },
    { name: 'key list', type: 'stringlist' },
  ],
  needsMessage: true,
  validate(b, v) {
    markPlain(b);
    if (!checkHeaderNames(b, v, 0)) return;
    const arg = b.args[0]!;
    const templates = arg.kind === 'stringlist' ? arg.templates : arg.kind === 'string' ? [arg.template] : [];
    for (const t of templates) {
      if (typeof t === 'string' && !ADDRESS_HEADERS.has(t.toLowerCase())) {
        v.error(arg.node.pos, `specified header '${t}' is not allowed for the address test`);
        return;
      }
    }
  },
  evaluate(b, rt) {
    const msg = rt.requireMessage(b.node.pos);
    const later = b.tags.has('mime') && !currentPart(rt.state) ? afterMimeTree(msg, rt.budget, () => b.def.evaluate!(b, rt)) : undefined;
    if (later) return later;
    const names = rt.list(b.args[0]!);
    const part = b.addressPart ?? allPart;
    const plain = names.length === 1 && b.data === PLAIN;
    const fields = plain ? fieldsNamed(msg, names[0]!) : selectedFields(msg, names, b, rt);
    // Large fields: read a field at a time, a large one tested whole in the match worker (address-in-pieces.ts).
    if (inPieces(rt, fields)) return addressTestInPieces(b, rt, fields, part, rt.list(b.args[1]!));
    const values = plain ? memoAddresses(rt, readerOf(part), names[0]!) : addressValues(rt, fields, part);
    return matchTest(b, rt, values, rt.list(b.args[1]!));
  },
  compile(b) {
    // The usual form, one constant field name without :index or :mime, made once.
    const names = constantList(b.args[0]!);
    if (b.data !== PLAIN || names?.length !== 1) return undefined;
    const name = names[0]!;
    const part = b.addressPart ?? allPart;
    const reader = readerOf(part);
    const slot = memoSlot(reader.table, name);
    const keyArg = b.args[1]!;
    const match = compileMatch(b, keyArg);
    const pos = b.node.pos;
    return (rt) => {
      const msg = rt.requireMessage(pos);
      if (rt.budget.sliceMs > 0) {
        const fields = fieldsNamed(msg, name);
        if (inPieces(rt, fields)) return addressTestInPieces(b, rt, fields, part, rt.list(keyArg));
      }
      return match(rt, rt.memoizeAt(slot, reader.table, name, reader.read, rt));
    };
  },
};

/** RFC 5228 5.7: values trimmed and RFC 2047-decoded (2.7.2), once per run. */
export function decodedHeaders(rt: Runtime, fields: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of fields) out.push(rt.memoize(DECODED, raw, decodedHeaderValue, undefined));
  return out;
}

/**
 * A test about to read the decoded values of these raw fields: in a run
 * that can wait, a large one with encoded-words is decoded in a worker
 * first (header-codec.ts) and kept for the run, then `again` runs;
 * undefined when there is none to decode.
 */
export function afterDecoding<T>(rt: Runtime, fields: readonly string[], again: () => MaybePromise<T>): Promise<T> | undefined {
  for (const raw of fields) {
    if (decodesInWorker(raw, rt.budget) && rt.memoized(DECODED, raw) === undefined) {
      return codecInWorker({ op: 'rfc2047-decode', value: raw }, rt.budget).then((text) => {
        rt.memoize(DECODED, raw, keepDecoded, text);
        return again();
      });
    }
  }
  return undefined;
}
const keepDecoded = (_raw: string, text: string) => text;

/** A raw value decoded, as afterDecoding kept it or here (without keeping it: a list of 200,000 fields is read once). */
export const decodedHeader = (rt: Runtime, raw: string): string => rt.memoized<string>(DECODED, raw) ?? decodedHeaderValue(raw);

/**
 * The decoded values of the fields a header test names. Without :index or
 * :mime, a field name's decoded values are kept for the run: a policy reads
 * the same header in many tests.
 */
function headerTestValues(b: Bound, rt: Runtime, fields: readonly string[], names: string[]): string[] {
  if (names.length === 1 && b.data === PLAIN) return rt.memoize(DECODED_FIELDS, names[0]!, decodeFields, rt);
  return decodedHeaders(rt, fields);
}
const decodeFields = (name: string, rt: Runtime): string[] => fieldsNamed(rt.message!, name).map((raw) => decodedHeader(rt, raw));

export const headerTest: CommandDef = {
  name: 'header',
  kind: 'test',
  families: ['comparator', 'match-type'],
  positional: [
    { name: 'header names', type: 'stringlist' },
    { name: 'key list', type: 'stringlist' },
  ],
  needsMessage: true,
  validate: (b, v) => {
    markPlain(b);
    checkHeaderNames(b, v, 0);
  },
  evaluate(b, rt) {
    const msg = rt.requireMessage(b.node.pos);
    const later = b.tags.has('mime') && !currentPart(rt.state) ? afterMimeTree(msg, rt.budget, () => b.def.evaluate!(b, rt)) : undefined;
    if (later) return later;
    const names = rt.list(b.args[0]!);
    const fields = names.length === 1 && b.data === PLAIN ? fieldsNamed(msg, names[0]!) : selectedFields(msg, names, b, rt);
    const decoded = afterDecoding(rt, fields, () => b.def.evaluate!(b, rt));
    if (decoded) return decoded;
    const values = headerTestValues(b, rt, fields, names);
    return matchTest(b, rt, b.tags.has('mime') ? mimeOptionValues(b, rt, values) : values, rt.list(b.args[1]!));
  },
  compile(b) {
    // The usual form, one constant field name without :index or :mime, made once.
    const names = constantList(b.args[0]!);
    if (b.data !== PLAIN || names?.length !== 1) return undefined;
    const name = names[0]!;
    const slot = memoSlot(DECODED_FIELDS, name);
    const match = compileMatch(b, b.args[1]!);
    const pos = b.node.pos;
    const run = (rt: Runtime): MaybePromise<boolean> => {
      const msg = rt.requireMessage(pos);
      if (rt.budget.sliceMs > 0 && rt.memoizedAt(slot, DECODED_FIELDS, name) === undefined) {
        const decoded = afterDecoding(rt, fieldsNamed(msg, name), () => run(rt));
        if (decoded) return decoded;
      }
      return match(rt, rt.memoizeAt(slot, DECODED_FIELDS, name, decodeFields, rt));
    };
    return run;
  },
};

/** RFC 5228 5.5: true when every named header exists. */
export const existsTest: CommandDef = {
  name: 'exists',
  kind: 'test',
  positional: [{ name: 'header names', type: 'stringlist' }],
  needsMessage: true,
  validate: (b, v) => void checkHeaderNames(b, v, 0),
  evaluate(b, rt) {
    const msg = rt.requireMessage(b.node.pos);
    const names = rt.list(b.args[0]!);
    const later = b.tags.has('mime') && !currentPart(rt.state) ? afterMimeTree(msg, rt.budget, () => b.def.evaluate!(b, rt)) : undefined;
    if (later) return later;
    if (b.tags.has('mime')) {
      // RFC 5703 4.3: every name present in the part (with :anychild, in one part of the subtree).
      return names.every((n) => mimeFields(msg, rt.state, [n], b.tags.has('anychild')).length > 0);
    }
    return names.every((n) => hasHeaderField(msg, n.toLowerCase()));
  },
  compile(b) {
    const names = constantList(b.args[0]!);
    if (!names || b.tags.has('mime')) return undefined;
    const pos = b.node.pos;
    const lnames = names.map((n) => n.toLowerCase());
    // By name alone: the values the index would unfold are never read here.
    return (rt) => {
      const msg = rt.requireMessage(pos);
      for (const n of lnames) if (!hasHeaderField(msg, n)) return false;
      return true;
    };
  },
};

/** RFC 5228 5.9: exactly one of :over and :under. */
export const sizeTest: CommandDef = {
  name: 'size',
  kind: 'test',
  tags: [
    { name: 'over', group: 'size', args: [{ name: 'limit', type: 'number' }] },
    { name: 'under', group: 'size', args: [{ name: 'limit', type: 'number' }] },
  ],
  needsMessage: true,
  validate(b, v) {
    if (!b.tags.has('over') && !b.tags.has('under')) {
      v.error(b.node.pos, 'the size test requires either the :under or the :over tag to be specified');
    }
  },
  evaluate(b, rt) {
    const size = rt.requireMessage(b.node.pos).size;
    const over = b.tags.get('over');
    const lim = (over ?? b.tags.get('under'))!.args[0]!;
    const n = lim.kind === 'number' ? lim.value : Number(rt.string(lim));
    return over ? size > n : size < n;
  },
};
