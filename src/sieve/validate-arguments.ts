/**
 * The arguments of a command or test, as the validator (validate.ts) checks
 * them, in Pigeonhole's order and words: which tags the command accepts
 * given what is required, its tags with their parameters and then its
 * positional arguments (RFC 5228 2.6.2), then their types, bound as values.
 */
import type { Argument, TagArg } from './ast.js';
import type { ArgType, Bound, CommandDef, PositionalSpec, TagSpec, Value } from './registry.js';
import { boundTag, ownTags } from './bound.js';
import { type Describe, matchChecks } from './validate-shape.js';
import type { Validator } from './validate.js';

const typeName = (a: Argument): string =>
  a.kind === 'string' ? 'a string' : a.kind === 'stringlist' ? 'a string list' : a.kind === 'number' ? 'a number' : a.kind === 'tag' ? 'a tag' : 'a variable';
const wantName = (t: ArgType): string => (t === 'string' ? 'a string' : t === 'stringlist' ? 'a string list' : t === 'any' ? 'a value' : 'a number');

function accepts(t: ArgType, a: Argument): boolean {
  if (t === 'any') return a.kind !== 'tag';
  if (t === 'number') return a.kind === 'number';
  if (t === 'string') return a.kind === 'string' || a.kind === 'variable';
  return a.kind === 'string' || a.kind === 'stringlist' || a.kind === 'variable';
}

/** A tag as this command accepts it: from its own spec, an attachment, or a shared family. */
export interface TagChoice {
  spec: TagSpec;
  family?: 'match-type' | 'comparator' | 'address-part';
}

/** The tags a command accepts, given the extensions loaded (Validator.tagsFor keeps the answer until the next `require`). */
export function makeTagChoices(v: Validator, def: CommandDef): Map<string, TagChoice> {
  const m = new Map<string, TagChoice>();
  for (const t of def.tags ?? []) m.set(t.name, { spec: t });
  for (const a of v.registry.attached.get(def.name) ?? []) if (v.enabled(a.ext)) m.set(a.def.name, { spec: a.def });
  for (const f of def.families ?? []) {
    if (f === 'comparator') m.set('comparator', { spec: { name: 'comparator', args: [{ name: 'comparator name', type: 'string' }] }, family: f });
    if (f === 'match-type') {
      for (const [name, o] of v.registry.matchTypes) {
        if (!v.enabled(o.ext)) continue;
        const args = o.def.relational ? [{ name: 'relational operator', type: 'string' as const }] : undefined;
        m.set(name, { spec: { name, args }, family: f });
      }
    }
    if (f === 'address-part') {
      for (const [name, o] of v.registry.addressParts) if (v.enabled(o.ext)) m.set(name, { spec: { name }, family: f });
    }
  }
  return m;
}

/** Tags (with their parameters) first, then positional arguments (RFC 5228 2.6.2). */
export function argumentsOf(v: Validator, b: Bound, what: Describe): boolean {
  const args = b.node.arguments;
  const choices = v.tagsFor(b.def);
  let families: Map<string, string> | undefined;
  // Every tag is resolved first, wherever it stands (Pigeonhole does the same).
  for (const a of args) {
    if (a.kind !== 'tag' || choices.has(a.name)) continue;
    const key = `${b.def.name}\0${a.name}`;
    if (!v.unknownTags.has(key)) {
      v.unknownTags.add(key);
      v.error(a.pos, `unknown tagged argument '${a.raw}' for the ${what()} (reported only once at first occurrence)`);
    }
    return false;
  }
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a.kind !== 'tag') break;
    const choice = choices.get(a.name)!;
    const group = choice.family ?? choice.spec.group;
    if (b.tags.has(a.name) || (group && families?.has(group))) {
      const desc = group && families?.get(group) !== a.name ? `${group} argument (${a.raw})` : `${a.raw} argument`;
      v.error(a.pos, `encountered duplicate ${desc} for the ${what()}`);
      return false;
    }
    if (group) (families ??= new Map()).set(group, a.name);
    const params: Value[] = [];
    for (const p of choice.spec.args ?? []) {
      const next = args[i + 1];
      if (!next || next.kind === 'tag') {
        v.error(a.pos, `the ${a.raw} tag for the ${what()} requires ${wantName(p.type)} as parameter, but ${next ? 'a tag was found' : 'no parameters were found'}`);
        return false;
      }
      if (!accepts(p.type, next)) {
        v.error(next.pos, `the ${a.raw} tag for the ${what()} requires ${wantName(p.type)} as parameter, but ${typeName(next)} was found`);
        return false;
      }
      params.push(v.value(next));
      i++;
    }
    ownTags(b).set(a.name, boundTag(a, params, choice.spec));
    if (choice.family && !familyTag(v, b, choice.family, a.name, params, a, what)) return false;
  }
  for (let k = i; k < args.length; k++) {
    const a = args[k]!;
    if (a.kind === 'tag') {
      v.error(a.pos, `encountered an unexpected tagged argument '${a.raw}' while validating positional arguments for the ${what()}`);
      return false;
    }
  }
  const positional = args.length - i;
  const specs = positionalOf(v, b.def);
  let min = 0;
  for (const p of specs) if (!p.optional) min++;
  if (positional < min || positional > specs.length) {
    v.error(b.node.pos, `the ${what()} requires ${positional < min ? min : specs.length} positional argument(s), but ${positional} is/are specified`);
    return false;
  }
  return true;
}

/** Resolves a match type, comparator or address part tag into the bound node. */
function familyTag(v: Validator, b: Bound, family: string, name: string, params: Value[], at: TagArg, what: Describe): boolean {
  if (family === 'address-part') {
    b.addressPart = v.lookup(v.registry.addressParts, name);
    return true;
  }
  if (family === 'match-type') {
    b.matchType = { def: v.lookup(v.registry.matchTypes, name)!, arg: params[0] };
    return true;
  }
  const p = params[0]!;
  const cname = p.kind === 'string' && typeof p.template === 'string' ? p.template : null;
  if (cname === null) {
    v.error(at.pos, `the :comparator tag for the ${what()} requires a constant string as parameter`);
    return false;
  }
  const cmp = v.lookup(v.registry.comparators, cname);
  if (!cmp) {
    v.error(p.node.pos, `unknown comparator '${cname}'`);
    return false;
  }
  b.comparator = cmp;
  return true;
}

/** The positional arguments' types, bound as values, then the comparator and match type checks (validate-shape.ts). */
export function typesOf(v: Validator, b: Bound, what: Describe): boolean {
  const all = positionalOf(v, b.def);
  const written = b.node.arguments;
  let given = 0;
  for (const a of written) if (a.kind !== 'tag') given++;
  // Optional arguments left out (imap4flags' leading variable name,
  // deleteheader's trailing value patterns): drop their specs.
  let omit = all.length - Math.max(given - countTagParams(b), 0);
  const specs = omit > 0 ? all.filter((p) => !(p.optional && omit-- > 0)) : all;
  const first = written.length - specs.length;
  const values: Value[] = [];
  for (let k = 0; k < specs.length; k++) {
    const spec = specs[k]!;
    const a = written[first + k]!;
    if (!accepts(spec.type, a)) {
      v.error(a.pos, `the ${what()} expects ${wantName(spec.type)} as argument ${k + 1} (${spec.name}), but ${typeName(a)} was found`);
      return false;
    }
    values.push(v.value(a));
  }
  // At its exact size: the compiled script keeps it (a list grown by push keeps room for 17).
  if (values.length > 0) b.args = values.slice();
  const comparatorGiven = b.comparator !== undefined;
  // A language may change the comparator used when none is given (Momentum's is i;octet).
  if (!b.comparator && v.defaultComparator && !b.def.defaultComparator && b.def.families?.includes('comparator')) b.comparator = v.defaultComparator;
  return matchChecks(v, b, what, comparatorGiven);
}

/** A command's positional arguments, as the language layer takes them (src/sieve/language.ts). */
function positionalOf(v: Validator, def: CommandDef): readonly PositionalSpec[] {
  return v.options.language?.positional?.(def) ?? def.positional ?? [];
}

/** How many non-tag arguments were consumed as tag parameters (`:days 7`). */
function countTagParams(b: Bound): number {
  if (b.tags.size === 0) return 0;
  let n = 0;
  for (const t of b.tags.values()) n += t.args.length;
  return n;
}
