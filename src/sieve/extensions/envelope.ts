/**
 * RFC 5228 5.4: the envelope test. "from" is the reverse-path, "to" the
 * forward-paths; the null reverse-path is the empty string whatever the
 * address part. "auth" (the authenticated user) is compared as it is.
 */
import { compileMatch, constantList, matchTest } from '../interpreter.js';
import type { Bound, EnvelopePart, Extension } from '../registry.js';
import { allPart } from '../runtime/address-parts.js';
import { type Address, parseEnvelopePath } from '../runtime/address.js';
import { memoTable } from '../runtime/memo.js';
import type { Runtime } from '../runtime/runtime.js';

const PARTS = new Set(['from', 'to', 'auth', 'orig_to']);

/** The envelope's paths parsed once per run: a policy tests them many times. */
function envelopeAddress(rt: Runtime, path: string): Address | null | undefined {
  const a = rt.memoize(PATHS, path, parseOrMark, undefined);
  return a === UNPARSED ? undefined : a;
}
const PATHS = memoTable();
const UNPARSED: Address = { local: '', domain: '' };
const parseOrMark = (path: string): Address | null => {
  const a = parseEnvelopePath(path);
  return a === undefined ? UNPARSED : a;
};

function paths(rt: Runtime, part: string): string[] {
  const e = rt.envelope;
  switch (part) {
    case 'from':
      return [e.from];
    case 'to':
      return e.to;
    case 'orig_to':
      return e.origTo !== undefined ? [e.origTo] : [];
    case 'auth':
      return e.auth !== undefined ? [e.auth] : [];
    default:
      return [];
  }
}

/** The values the test compares: the named parts' paths, through the address part. */
function envelopeValues(b: Bound, rt: Runtime, names: readonly string[]): string[] {
  const part = b.addressPart ?? allPart;
  const values: string[] = [];
  for (const name of names) {
    const lname = name.toLowerCase();
    const extra = PARTS.has(lname) ? undefined : (b.data as Map<string, EnvelopePart> | undefined)?.get(lname);
    if (extra) {
      values.push(...extra.values(b, rt));
      continue;
    }
    for (const p of paths(rt, lname)) {
      if (lname === 'auth') {
        values.push(p);
        continue;
      }
      const a = envelopeAddress(rt, p);
      // An envelope path that does not parse matches nothing, not even with :all.
      if (a === undefined) continue;
      const v = a === null ? '' : part.extract(a, rt);
      if (v !== null) values.push(v);
    }
  }
  return values;
}

export const envelope: Extension = {
  capability: 'envelope',
  commands: [
    {
      name: 'envelope',
      kind: 'test',
      families: ['address-part', 'comparator', 'match-type'],
      positional: [
        { name: 'envelope part', type: 'stringlist' },
        { name: 'key list', type: 'stringlist' },
      ],
      validate(b, v) {
        // Parts that required extensions add (RFC 6009), by name, for the run.
        const more = new Map<string, EnvelopePart>();
        for (const ext of v.loaded) for (const p of ext.envelopeParts ?? []) more.set(p.name, p);
        if (more.size > 0) b.data = more;
        const arg = b.args[0]!;
        const list = arg.kind === 'stringlist' ? arg.templates : arg.kind === 'string' ? [arg.template] : [];
        for (const t of list) {
          if (typeof t === 'string' && !PARTS.has(t.toLowerCase()) && !more.has(t.toLowerCase())) {
            v.error(arg.node.pos, `specified envelope part '${t}' is not supported by the envelope test`);
            return;
          }
        }
      },
      evaluate(b, rt) {
        return matchTest(b, rt, envelopeValues(b, rt, rt.list(b.args[0]!)), rt.list(b.args[1]!));
      },
      compile(b) {
        const names = constantList(b.args[0]!);
        if (!names) return undefined;
        const match = compileMatch(b, b.args[1]!);
        return (rt) => match(rt, envelopeValues(b, rt, names));
      },
    },
  ],
};
