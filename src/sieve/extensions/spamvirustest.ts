/**
 * RFC 5235: spamtest, spamtestplus (:percent) and virustest. The value is
 * read from a header the scanner added, configured through host settings
 * named as Pigeonhole names them:
 *   sieve_{spam,virus}test_status_header     "Header-Name" or "Header-Name: regex" (group 1)
 *   sieve_{spam,virus}test_status_type       score | strlen | text
 *   sieve_{spam,virus}test_score_max_header  as status_header, for score/strlen
 *   sieve_{spam,virus}test_score_max_value   a number, when there is no max header
 *   sieve_{spam,virus}test_text_value/N      for text: the status that means N
 * Unconfigured, or when the header is missing, the value is "0" (not
 * tested, RFC 5235 3.2). The default comparator is i;ascii-numeric (3.1).
 */
import { re2js } from '../match/re2.js';
import { matchTest } from '../interpreter.js';
import { asciiNumeric } from '../match/comparators.js';
import type { Bound, CommandDef, Extension } from '../registry.js';
import { headerValues } from '../runtime/message.js';
import { decodedHeaderStart } from '../runtime/rfc2047.js';
import type { Runtime } from '../runtime/runtime.js';

type Kind = 'spamtest' | 'virustest';

/** A decimal as scanners write it: "-1.6", "5", ".01". */
const DECIMAL = /^-?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;

/**
 * How much of a status header is read: a scanner's is a line or two
 * (SpamAssassin's X-Spam-Status with its list of tests, some hundreds of
 * characters). Only its start is decoded and searched, so a header of
 * megabytes that a client added itself holds no session while it is
 * decoded and scanned on the event loop.
 */
const STATUS_CHARS = 4096;

/** The header's value, or the regex's first group; undefined when absent or not matching. */
function readSpec(rt: Runtime, spec: string): string | undefined {
  const m = /^[ \t]*([^: \t]+)[ \t]*(?::[ \t]*(.*))?$/.exec(spec);
  if (!m) return undefined;
  const raw = headerValues(rt.requireMessage({ line: 1, column: 1, offset: 0 }), m[1]!.toLowerCase())[0];
  if (raw === undefined) return undefined;
  const value = decodedHeaderStart(raw, STATUS_CHARS).slice(0, STATUS_CHARS);
  if (m[2] === undefined) return value;
  try {
    const { RE2JS } = re2js();
    const mm = RE2JS.compile(m[2], RE2JS.CASE_INSENSITIVE).matcher(value);
    return mm.find() && mm.groupCount() >= 1 ? (mm.group(1) ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}

/** The score ratio in [0, 1], or null when not tested. */
function scoreRatio(rt: Runtime, kind: Kind): number | null {
  const setting = (name: string) => rt.host.setting?.(`sieve_${kind}_${name}`);
  const status = setting('status_header');
  if (!status) return null;
  const type = setting('status_type') ?? 'score';
  const maxText = kind === 'virustest' ? 5 : 10;
  let max: number;
  if (type === 'text') max = maxText;
  else {
    const header = setting('score_max_header');
    const text = header ? readSpec(rt, header) : setting('score_max_value');
    if (text === undefined || !DECIMAL.test(text.trim())) return null;
    max = Number(text);
    if (max === 0) return null;
  }
  const value = readSpec(rt, status);
  if (value === undefined) return null;
  let score: number;
  if (type === 'score') {
    if (!DECIMAL.test(value.trim())) return null;
    score = Number(value);
  } else if (type === 'strlen') {
    // A run of one repeated character ("*****"): its length is the score.
    if (value !== '' && value.split('').some((c) => c !== value[0])) return null;
    score = value.length;
  } else {
    const n = Array.from({ length: maxText + 1 }, (_, i) => i).find((i) => setting(`text_value/${i}`) === value);
    if (n === undefined) return null;
    score = n;
  }
  return score < 0 ? 0 : score > max ? 1 : score / max;
}

/** RFC 5235 3.2-3.3: 1..10 (virustest 1..5), or 0..100 with :percent; "0" when not tested. */
function testValue(rt: Runtime, kind: Kind, percent: boolean): string {
  const r = scoreRatio(rt, kind);
  if (r === null) return '0';
  if (percent) return String(Math.floor(r * 100 + 0.001));
  return String(Math.floor(r * (kind === 'virustest' ? 4 : 9) + 1.001));
}

const testDef = (kind: Kind): CommandDef => ({
  name: kind,
  kind: 'test',
  families: ['comparator', 'match-type'],
  defaultComparator: asciiNumeric,
  positional: [{ name: 'value', type: 'string' }],
  needsMessage: true,
  evaluate: (b: Bound, rt: Runtime) => matchTest(b, rt, [testValue(rt, kind, b.tags.has('percent'))], [rt.string(b.args[0]!)]),
});

export const spamtest: Extension = { capability: 'spamtest', commands: [testDef('spamtest')] };
/** RFC 5235 3.3: spamtestplus adds :percent (and implies spamtest). */
export const spamtestplus: Extension = {
  capability: 'spamtestplus',
  attachTags: [{ commands: ['spamtest'], tag: { name: 'percent' } }],
  onRequire: (v, at) => void v.require('spamtest', at),
};
export const virustest: Extension = { capability: 'virustest', commands: [testDef('virustest')] };
