/**
 * The arguments of a command or test, as the validator (validate.ts) checks
 * them, in Pigeonhole's order and words: which tags the command accepts
 * given what is required, its tags with their parameters and then its
 * positional arguments (RFC 5228 2.6.2), then their types, bound as values.
 */
import type { Argument } from './ast.js';
import type { Position } from '../diagnostics.js';
import type { ArgType, Bound, CommandDef, PositionalSpec, TagSpec, Value } from './registry.js';
import { matchChecks } from './validate-shape.js';
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
export function argumentsOf(v: Validator, b: Bound, what: string): boolean {
  const args = b.node.arguments;
  const choices = v.tagsFor(b.def);
  const families = new Map<string, string>();
  // Every tag is resolved first, wherever it stands (Pigeonhole does the same).
  for (const a of args) {
    if (a.kind !== 'tag' || choices.has(a.name)) continue;
    const key = `${b.def.name}\0${a.name}`;
    if (!v.unknownTags.has(key)) {
      v.unknownTags.add(key);
      v.error(a.pos, `unknown tagged argument '${a.raw}' for the ${what} (reported only once at first occurrence)`);
    }
    return false;
  }
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a.kind !== 'tag') break;
    const choice = choices.get(a.name)!;
    const group = choice.family ?? choice.spec.group;
    if (b.tags.has(a.name) || (group && families.has(group))) {
      const desc = group && families.get(group) !== a.name ? `${group} argument (${a.raw})` : `${a.raw} argument`;
      v.error(a.pos, `encountered duplicate ${desc} for the ${what}`);
      return false;
    }
    if (group) families.set(group, a.name);
    const params: Value[] = [];
    for (const p of choice.spec.args ?? []) {
      const next = args[i + 1];
      if (!next || next.kind === 'tag') {
        v.error(a.pos, `the ${a.raw} tag for the ${what} requires ${wantName(p.type)} as parameter, but ${next ? 'a tag was found' : 'no parameters were found'}`);
        return false;
      }
      if (!accepts(p.type, next)) {
        v.error(next.pos, `the ${a.raw} tag for the ${what} requires ${wantName(p.type)} as parameter, but ${typeName(next)} was found`);
        return false;
      }
      params.push(v.value(next));
      i++;
    }
    b.tags.set(a.name, { pos: a.pos, args: params, spec: choice.spec });
    if (choice.family && !familyTag(v, b, choice.family, a.name, params, a.pos, what)) return false;
  }
  const positional = args.slice(i);
  for (const a of positional) {
    if (a.kind === 'tag') {
      v.error(a.pos, `encountered an unexpected tagged argument '${a.raw}' while validating positional arguments for the ${what}`);
      return false;
    }
  }
  const specs = positionalOf(v, b.def);
  const min = specs.filter((p) => !p.optional).length;
  if (positional.length < min || positional.length > specs.length) {
    v.error(b.node.pos, `the ${what} requires ${positional.length < min ? min : specs.length} positional argument(s), but ${positional.length} is/are specified`);
    return false;
  }
  return true;
}

/** Resolves a match type, comparator or address part tag into the bound node. */
function familyTag(v: Validator, b: Bound, family: string, name: string, params: Value[], pos: Position, what: string): boolean {
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
    v.error(pos, `the :comparator tag for the ${what} requires a constant string as parameter`);
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
export function typesOf(v: Validator, b: Bound, what: string): boolean {
  const all = positionalOf(v, b.def);
  const given = b.node.arguments.filter((a) => a.kind !== 'tag').length;
  // Optional arguments left out (imap4flags' leading variable name,
  // deleteheader's trailing value patterns): drop their specs.
  let omit = all.length - Math.max(given - countTagParams(b), 0);
  const specs = all.filter((p) => !(p.optional && omit-- > 0));
  const args = b.node.arguments.slice(b.node.arguments.length - specs.length);
  for (let k = 0; k < specs.length; k++) {
    const spec = specs[k]!;
    const a = args[k]!;
    if (!accepts(spec.type, a)) {
      v.error(a.pos, `the ${what} expects ${wantName(spec.type)} as argument ${k + 1} (${spec.name}), but ${typeName(a)} was found`);
      return false;
    }
    b.args.push(v.value(a));
  }
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
  let n = 0;
  for (const t of b.tags.values()) n += t.args.length;
  return n;
}
