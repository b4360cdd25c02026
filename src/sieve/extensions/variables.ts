/**
 * RFC 5229: variables. `set` with its modifiers (section 4.1), the string
 * test (section 5), and "${...}" expansion in every string once required
 * (templates are parsed by the validator, expanded by the runtime).
 */
import { compileMatch, matchTest } from '../interpreter.js';
import type { Bound, Extension, TagSpec } from '../registry.js';
import type { Runtime } from '../runtime/runtime.js';
import { head } from '../runtime/strings.js';
import { constantString, type Validator } from '../validate.js';

/** RFC 5229 4.1: modifiers applied from the highest precedence down. */
export interface Modifier {
  name: string;
  precedence: number;
  apply(s: string): string;
}

/** Two UTF-16 units that are one character: counted by the regex engine, with no array of every character. */
const SURROGATE_PAIRS = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

/** RFC 5229 4.1: `:quotewildcard` escapes what :matches treats specially. */
const quoteWildcard = (s: string) => s.replace(/([*?\\])/g, '\\$1');

export const MODIFIERS: Modifier[] = [
  { name: 'lower', precedence: 40, apply: (s) => s.toLowerCase() },
  { name: 'upper', precedence: 40, apply: (s) => s.toUpperCase() },
  { name: 'lowerfirst', precedence: 30, apply: (s) => s.charAt(0).toLowerCase() + s.slice(1) },
  { name: 'upperfirst', precedence: 30, apply: (s) => s.charAt(0).toUpperCase() + s.slice(1) },
  { name: 'quotewildcard', precedence: 20, apply: quoteWildcard },
  // RFC 5229 4.1: the length in characters, not octets.
  { name: 'length', precedence: 10, apply: (s) => String(s.length - (s.match(SURROGATE_PAIRS)?.length ?? 0)) },
];

/**
 * RFC 5229 4.1: modifiers of equal precedence exclude each other. Other
 * extensions attach theirs to `set` as tags carrying a `modifier`
 * (regex's :quoteregex, enotify's :encodeurl).
 */
export const modifierTags: TagSpec[] = MODIFIERS.map((m) => ({ name: m.name, group: `modifier-${m.precedence}`, modifier: m }));

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The variable name a command assigns to (set, extracttext): constant, not
 * a match variable, an identifier (or global.name with include), at most
 * 64 characters. Reports and returns null when it is not.
 */
export function checkVariableName(b: Bound, v: Validator, index: number): string | null {
  const name = constantString(b.args[index]);
  const at = b.args[index]!.node.pos;
  if (name !== null && /^[0-9]+$/.test(name)) {
    v.error(at, `cannot assign to match variable \${${name}}`);
    return null;
  }
  // RFC 6609 3.5: "global.name" sets a global when include is required.
  const global = name !== null && /^global\./i.test(name) && v.namespaces.has('global') && VARIABLE_NAME.test(name.slice(7));
  if (name === null || (!global && !VARIABLE_NAME.test(name))) {
    v.error(at, `invalid variable name '${name ?? b.args[index]!.node.kind}'`);
    return null;
  }
  if (name.length > MAX_NAME_LENGTH) {
    v.error(at, `variable name '${name.slice(0, 16)}...' is longer than ${MAX_NAME_LENGTH} characters`);
    return null;
  }
  return name;
}

/** Applies modifiers from the highest precedence down (RFC 5229 4.1); a quoting one never leaves half an escape. */
export function applyModifiers(b: Bound, rt: Runtime, value: string): string {
  const modifiers = (b.data as { modifiers?: Array<NonNullable<TagSpec['modifier']>> } | undefined)?.modifiers ?? [];
  if (modifiers.length === 0) return value;
  let v = value;
  // A value to modify was built, and :length scans it (setVariable charges only what is kept).
  rt.budget.charge(value.length);
  // Every modifier above :length (precedence 10) keeps or lengthens what it
  // is given, character by character from the start: the first characters
  // of the result, which are all the size limit keeps (RFC 5229 3), come
  // from the first characters of the value. So a 10 MB value is not
  // percent-encoded or quoted whole for 4 KB of it.
  const max = rt.maxVariableOctets;
  if (Number.isFinite(max) && modifiers.every((m) => m.precedence > 10)) v = head(v, 4 * max + 64);
  for (const m of modifiers) v = m.apply(v);
  if (modifiers.some((m) => m.precedence === 20)) v = keepEscapesWhole(rt.fitVariable(v));
  const last = modifiers[modifiers.length - 1];
  if (last?.trim) v = last.trim(rt.fitVariable(v));
  return v;
}

/** The modifiers among a command's tags, highest precedence first. */
export function modifiersOf(b: Bound, v: Validator, extra: TagSpec[] = []): Array<NonNullable<TagSpec['modifier']>> {
  const specs = [...modifierTags, ...extra];
  return [...b.tags.keys()]
    .map((t) => specs.find((s) => s.name === t)?.modifier)
    .filter((m): m is NonNullable<TagSpec['modifier']> => m !== undefined)
    .sort((x, y) => y.precedence - x.precedence);
}

/** Drops a final backslash that would escape nothing (an odd run at the end). */
function keepEscapesWhole(s: string): string {
  const run = /\\+$/.exec(s)?.[0].length ?? 0;
  return run % 2 === 1 ? s.slice(0, -1) : s;
}
/** Pigeonhole's limits (sieve-variables-limits): name length and variables per script. */
const MAX_NAME_LENGTH = 64;
const MAX_VARIABLES = 255;

export const variables: Extension = {
  capability: 'variables',
  onRequire(v) {
    v.variables = true;
  },
  commands: [
    {
      name: 'set',
      kind: 'command',
      tags: modifierTags,
      positional: [
        { name: 'name', type: 'string' },
        { name: 'value', type: 'string' },
      ],
      validate(b, v) {
        const name = checkVariableName(b, v, 0);
        if (name === null) return;
        const at = b.args[0]!.node.pos;
        // Pigeonhole's limit on declared variables per script, reported once.
        const declared = (v.state.get('variables.declared') as Set<string> | undefined) ?? new Set<string>();
        v.state.set('variables.declared', declared);
        if (!declared.has(name.toLowerCase())) {
          declared.add(name.toLowerCase());
          if (declared.size === MAX_VARIABLES + 1) {
            v.error(at, `number of variables exceeds the maximum of ${MAX_VARIABLES}`);
            return;
          }
        }
        b.data = { name: name.toLowerCase(), modifiers: modifiersOf(b, v, (v.registry.attached.get('set') ?? []).map((o) => o.def)) };
      },
      execute(b, rt) {
        rt.setVariable((b.data as { name: string }).name, applyModifiers(b, rt, rt.string(b.args[1]!)));
      },
      compile(b) {
        const { name, modifiers } = b.data as { name: string; modifiers: unknown[] };
        const value = b.args[1]!;
        if (modifiers.length > 0) return undefined;
        return (rt) => rt.setVariable(name, rt.string(value));
      },
    },
    {
      name: 'string',
      kind: 'test',
      families: ['comparator', 'match-type'],
      positional: [
        { name: 'source', type: 'stringlist' },
        { name: 'key list', type: 'stringlist' },
      ],
      evaluate(b, rt) {
        let source = rt.list(b.args[0]!);
        // RFC 5229 5: with :count, empty strings are not counted.
        if (b.matchType?.def.name === 'count') source = source.filter((s) => s !== '');
        return matchTest(b, rt, source, rt.list(b.args[1]!));
      },
      compile(b) {
        const source = b.args[0]!;
        const count = b.matchType?.def.name === 'count';
        const match = compileMatch(b, b.args[1]!);
        return (rt) => match(rt, count ? rt.list(source).filter((s) => s !== '') : rt.list(source));
      },
    },
  ],
};
