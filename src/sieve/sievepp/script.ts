/**
 * What the validator and compile.ts ask of Sieve++ about a whole script:
 * is it a Sieve++ script (then "${x}" and the vctx macros interpolate
 * without require), how its `%{vctx_*:key}` macros parse, and how to word
 * an error for a name that is not a command or test here.
 */
import type { Invocation, Script, Statement } from '../ast.js';
import type { ExtensionRegistry } from '../extension-registry.js';
import type { Part, Template } from '../runtime/strings.js';
import type { Validator } from '../validate.js';
import { type FunctionRegistry, SIEVEPP_CAPABILITY } from './functions.js';

/** Where compile.ts leaves the function registry for the validator (Validator.state). */
export const FUNCTIONS_STATE = 'sievepp.functions';

const MACRO = /%\{(vctx_mess|vctx_conn):([^}]+)\}/gi;

/** Momentum's `%{vctx_mess:key}` / `%{vctx_conn:key}` macros, as namespace references the runtime resolves. */
export function withMacros(t: Template): Template {
  const parts = typeof t === 'string' ? [t] : t;
  if (!parts.some((p) => typeof p === 'string' && p.includes('%{'))) return t;
  const out: Part[] = [];
  for (const p of parts) {
    if (typeof p !== 'string') {
      out.push(p);
      continue;
    }
    let last = 0;
    for (const m of p.matchAll(MACRO)) {
      if (m.index > last) out.push(p.slice(last, m.index));
      out.push({ ns: m[1]!.toLowerCase(), name: m[2]!.trim() });
      last = m.index + m[0].length;
    }
    if (last < p.length) out.push(p.slice(last));
  }
  return out;
}

/**
 * The error for a name the validator does not know as a command or test:
 * in 'rfc', a Sieve++ name says so; a Sieve++ function that only gives a
 * value says where it belongs; anything else is Pigeonhole's wording.
 */
export function unknownMessage(v: Validator, node: Invocation, as: 'command' | 'test'): string {
  const owner = v.registry.commands.get(node.name)?.ext.capability;
  const sievepp = owner === SIEVEPP_CAPABILITY;
  // A standard name (envelope) is the standard extension's, whatever Sieve++ adds.
  const fn = owner === undefined ? (v.state.get(FUNCTIONS_STATE) as FunctionRegistry | undefined)?.get(node.name) : undefined;
  if (v.options.dialect === 'rfc' && (sievepp || fn)) return `'${node.raw}' is a Momentum Sieve++ ${as}, which the 'rfc' dialect does not allow`;
  if (fn && !sievepp) return `'${node.raw}' gives a value and cannot be used as a ${as}: assign it, as in $x = ${node.raw} ...;`;
  return `unknown ${as} '${node.raw}' (only reported once at first occurrence)`;
}

/**
 * Is this a Sieve++ script? Yes when it has an assignment or a `$x`
 * argument anywhere, or uses a Sieve++ function. Only then do "${x}" and
 * %{vctx_*:key} interpolate without `require "variables"`: a standard
 * script keeps its standard meaning (sieve-dialect.md).
 */
export function usesSievepp(script: Script, registry: ExtensionRegistry): boolean {
  const isFn = (name: string) => registry.commands.get(name)?.ext.capability === SIEVEPP_CAPABILITY;
  const inv = (n: Invocation): boolean => isFn(n.name) || n.arguments.some((x) => x.kind === 'variable') || n.tests.some(inv);
  const stmt = (s: Statement): boolean => s.kind === 'assignment' || inv(s) || (s.block ?? []).some(stmt);
  return script.commands.some(stmt);
}
