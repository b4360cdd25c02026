/**
 * RFC 5260: the date and currentdate tests. A date is taken from a header
 * field (for Received, after its last ";", section 4) and compared in the
 * local zone, in a :zone, or in its :originalzone (4.1). Fields whose date
 * does not parse are skipped.
 */
import { matchTest } from '../interpreter.js';
import type { Bound, Extension, MaybePromise } from '../registry.js';
import { DATE_PARTS, datePart, localOffset, parseDateTime, parseZone, type ZonedTime } from '../runtime/datetime.js';
import type { Runtime } from '../runtime/runtime.js';
import { constantString, type Validator } from '../validate.js';
import { selectedFields } from './core-tests.js';

const ZONE_TAGS = [
  { name: 'zone', group: 'zone', args: [{ name: 'time zone', type: 'string' as const }] },
  { name: 'originalzone', group: 'zone' },
];

function checkPartAndZone(b: Bound, v: Validator, partIndex: number): void {
  const part = constantString(b.args[partIndex]);
  if (part !== null && !DATE_PARTS.includes(part.toLowerCase())) {
    v.error(b.args[partIndex]!.node.pos, `invalid date part '${part}' for the ${b.node.raw} test`);
    return;
  }
  const zone = b.tags.get('zone');
  const z = zone ? constantString(zone.args[0]) : null;
  if (z !== null && parseZone(z) === null) v.error(zone!.pos, `invalid time zone '${z}' for the ${b.node.raw} test`);
}

/** Moves a time into the zone the test asks for; null when a run-time :zone is invalid. */
function inZone(b: Bound, rt: Runtime, t: ZonedTime): ZonedTime | null {
  if (b.tags.has('originalzone')) return t;
  const zone = b.tags.get('zone');
  if (zone) {
    const z = parseZone(rt.string(zone.args[0]!));
    return z === null ? null : { utc: t.utc, offset: z };
  }
  return { utc: t.utc, offset: localOffset(t.utc) };
}

function compareParts(b: Bound, rt: Runtime, times: ZonedTime[], part: string, keys: string[]): MaybePromise<boolean> {
  const values: string[] = [];
  for (const t of times) {
    const z = inZone(b, rt, t);
    const v = z && datePart(z, part);
    if (v !== null && v !== undefined) values.push(v);
  }
  return matchTest(b, rt, values, keys);
}

export const date: Extension = {
  capability: 'date',
  commands: [
    {
      name: 'date',
      kind: 'test',
      families: ['comparator', 'match-type'],
      tags: ZONE_TAGS,
      positional: [
        { name: 'header name', type: 'string' },
        { name: 'date part', type: 'string' },
        { name: 'key list', type: 'stringlist' },
      ],
      needsMessage: true,
      validate: (b, v) => checkPartAndZone(b, v, 1),
      evaluate(b, rt) {
        const msg = rt.requireMessage(b.node.pos);
        const name = rt.string(b.args[0]!);
        const times: ZonedTime[] = [];
        for (const raw of selectedFields(msg, [name], b, rt)) {
          const text = name.toLowerCase() === 'received' ? raw.slice(raw.lastIndexOf(';') + 1) : raw;
          const t = parseDateTime(text);
          if (t) times.push(t);
        }
        return compareParts(b, rt, times, rt.string(b.args[1]!), rt.list(b.args[2]!));
      },
    },
    {
      name: 'currentdate',
      kind: 'test',
      families: ['comparator', 'match-type'],
      tags: ZONE_TAGS.slice(0, 1),
      positional: [
        { name: 'date part', type: 'string' },
        { name: 'key list', type: 'stringlist' },
      ],
      validate: (b, v) => checkPartAndZone(b, v, 0),
      evaluate(b, rt) {
        const now = rt.now().getTime();
        return compareParts(b, rt, [{ utc: now, offset: localOffset(now) }], rt.string(b.args[0]!), rt.list(b.args[1]!));
      },
    },
  ],
};
