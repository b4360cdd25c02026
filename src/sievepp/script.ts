/**
 * What the Sieve++ layer asks about a whole script: is it a Sieve++ script
 * (then "${x}" and the vctx macros interpolate without require), and how
 * its `%{vctx_*:key}` macros parse.
 */
import type { Invocation, Script, Statement } from '../sieve/ast.js';
import type { ExtensionRegistry } from '../sieve/extension-registry.js';
import type { Part, Template } from '../sieve/runtime/strings.js';
import { SIEVEPP_CAPABILITY } from './functions.js';

/**
 * `%{vctx_mess:key}`, `%{vctx_conn:key}`, `%{spfv1:ir}`, `%{rfc822:date}`,
 * `%{rfc2822:headers}` (rfc2822-macros.ts)
 * (sieve-ecaddons.md, "Macros"), and a bare context key such as
 * `%{mailfrom_localpart}` (sieve-ref-is-true.md, sieve-ref-ds-fetch-hash.md),
 * which reads the message context, then the connection's. A bare name needs
 * an underscore, so that `%{t}` and other text stay as written.
 */
const MACRO = /%\{(?:(vctx_mess|vctx_conn|spfv1|rfc822|rfc2822):([^}]+)|([a-z][a-z0-9]*_[a-z0-9_]+))\}/gi;

/** Momentum's macros, as namespace references the runtime resolves (the Sieve++ extension's namespaces, functions.ts). */
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
      out.push(m[3] ? { ns: 'vctx', name: m[3] } : { ns: m[1]!.toLowerCase(), name: m[2]!.trim() });
      last = m.index + m[0].length;
    }
    if (last < p.length) out.push(p.slice(last));
  }
  return out;
}

/**
 * Is this a Sieve++ script? Yes when it has an assignment or a `$x`
 * argument anywhere, or uses a Sieve++ function. Only then do "${x}" and
 * %{vctx_*:key} interpolate without `require "variables"`: a standard
 * script keeps its standard meaning (docs/momentum-compatibility.md).
 */
export function usesSievepp(script: Script, registry: ExtensionRegistry): boolean {
  const isFn = (name: string) => registry.commands.get(name)?.ext.capability === SIEVEPP_CAPABILITY;
  const inv = (n: Invocation): boolean => isFn(n.name) || n.arguments.some((x) => x.kind === 'variable') || n.tests.some(inv);
  const stmt = (s: Statement): boolean => s.kind === 'assignment' || inv(s) || (s.block ?? []).some(stmt);
  return script.commands.some(stmt);
}
