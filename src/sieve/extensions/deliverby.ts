/**
 * RFC 6009 sections 5 and 6: "envelope-deliverby" and "redirect-deliverby",
 * the SMTP DELIVERBY extension (RFC 2852) seen from Sieve.
 *
 * envelope-deliverby adds the envelope parts "bytimeabsolute" (the
 * deadline as an RFC 3339 date-time, in the :zone given, else in the zone
 * the deadline came with), "bytimerelative" (seconds left, negative once
 * past), "bymode" ("notify" or "return") and "bytrace" ("trace" or
 * "notrace"). Without a BY parameter they have no value.
 *
 * redirect-deliverby adds :bytimerelative <seconds> / :bytimeabsolute
 * <date-time>, :bymode and :bytrace to redirect; the redirect action then
 * carries `data.deliverBy` (deadline in ms, mode, trace) for the host that
 * sends it to pass on as BY.
 */
import type { Bound, Extension, TagSpec } from '../registry.js';
import { datePart, localOffset, parseZone } from '../runtime/datetime.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString } from '../validate.js';

/** RFC 3339 5.6 date-time; null when invalid. */
export function parseRfc3339(text: string): { utc: number; offset: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [Y, M, D, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offset = /^[Zz]$/.test(m[8]!) ? 0 : parseZone(m[8]!.replace(':', ''));
  if (offset === null || M < 1 || M > 12 || D < 1 || h > 23 || mi > 59 || s > 60) return null;
  const wall = Date.UTC(Y, M - 1, D, h, mi, s);
  if (new Date(wall).getUTCDate() !== D) return null;
  return { utc: wall - offset * 60_000 + Math.round(Number(m[7] ?? 0) * 1000), offset };
}

function now(rt: Runtime): number {
  return rt.now().getTime();
}

function byTimeAbsolute(b: Bound, rt: Runtime): string[] {
  const by = rt.envelope.deliverBy;
  if (!by) return [];
  const zone = b.tags.get('zone');
  const offset = zone ? parseZone(rt.string(zone.args[0]!)) : (by.offset ?? localOffset(by.deadline));
  if (offset === null) return [];
  return [datePart({ utc: by.deadline, offset }, 'iso8601')!];
}

export const envelopeDeliverby: Extension = {
  capability: 'envelope-deliverby',
  alsoRequires: ['envelope'],
  envelopeParts: [
    { name: 'bytimeabsolute', values: byTimeAbsolute },
    { name: 'bytimerelative', values: (_b, rt) => (rt.envelope.deliverBy ? [String(Math.round((rt.envelope.deliverBy.deadline - now(rt)) / 1000))] : []) },
    { name: 'bymode', values: (_b, rt) => (rt.envelope.deliverBy ? [rt.envelope.deliverBy.mode] : []) },
    { name: 'bytrace', values: (_b, rt) => (rt.envelope.deliverBy ? [rt.envelope.deliverBy.trace ? 'trace' : 'notrace'] : []) },
  ],
  attachTags: [
    {
      commands: ['envelope'],
      tag: {
        name: 'zone',
        args: [{ name: 'time zone', type: 'string' }],
        check(b, v) {
          const arg = b.tags.get('zone')!.args[0]!;
          const z = constantString(arg);
          if (z !== null && parseZone(z) === null) v.error(arg.node.pos, `invalid time zone '${z}' for the envelope test`);
        },
      },
    },
  ],
};

const MODES = ['notify', 'return'];

/** RFC 6009 6: :bymode and :bytrace only go with a delivery time. */
function needsTime(tag: string): NonNullable<TagSpec['check']> {
  return (b, v) => {
    if (!b.tags.has('bytimerelative') && !b.tags.has('bytimeabsolute')) v.error(b.tags.get(tag)!.pos, `redirect: :${tag} needs :bytimerelative or :bytimeabsolute`);
  };
}

const checkMode: NonNullable<TagSpec['check']> = (b, v) => {
  needsTime('bymode')(b, v);
  const a = b.tags.get('bymode')!.args[0]!;
  const mode = constantString(a);
  if (mode !== null && !MODES.includes(mode.toLowerCase())) v.error(a.node.pos, `redirect :bymode: '${mode}' is not "notify" or "return"`);
};

const checkAbsolute: NonNullable<TagSpec['check']> = (b, v) => {
  const a = b.tags.get('bytimeabsolute')!.args[0]!;
  const text = constantString(a);
  if (text !== null && parseRfc3339(text) === null) v.error(a.node.pos, `redirect :bytimeabsolute: '${text}' is not an RFC 3339 date-time`);
};

/** The time tag's effect: the redirect carries the deadline, with :bymode (default "return", RFC 2852 4) and :bytrace. */
const deliverBy: NonNullable<TagSpec['effect']> = (a, args, rt, b) => {
  const first = args[0]!;
  let deadline: number;
  if (first.kind === 'number') deadline = now(rt) + first.value * 1000;
  else {
    const text = rt.string(first);
    const t = parseRfc3339(text);
    if (!t) return rt.fail(`redirect :bytimeabsolute: '${text}' is not an RFC 3339 date-time`, a.pos);
    deadline = t.utc;
  }
  const modeArg = b.tags.get('bymode')?.args[0];
  const mode = modeArg ? rt.string(modeArg).toLowerCase() : 'return';
  if (!MODES.includes(mode)) rt.fail(`redirect :bymode: '${mode}' is not "notify" or "return"`, a.pos);
  a.data = { ...a.data, deliverBy: { deadline, mode, trace: b.tags.has('bytrace') } };
};

export const redirectDeliverby: Extension = {
  capability: 'redirect-deliverby',
  attachTags: [
    { commands: ['redirect'], tag: { name: 'bytimerelative', group: 'bytime', args: [{ name: 'seconds', type: 'number' }], effect: deliverBy } },
    { commands: ['redirect'], tag: { name: 'bytimeabsolute', group: 'bytime', args: [{ name: 'date-time', type: 'string' }], check: checkAbsolute, effect: deliverBy } },
    { commands: ['redirect'], tag: { name: 'bymode', args: [{ name: 'mode', type: 'string' }], check: checkMode } },
    { commands: ['redirect'], tag: { name: 'bytrace', check: needsTime('bytrace') } },
  ],
};
