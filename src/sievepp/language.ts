/**
 * Momentum's Sieve++ as a language layer on the Sieve core (src/sieve/language.ts):
 * its functions as one extension, assignments and `$x` arguments, the
 * `%{...}` macros, Momentum's `require` names, and the wording of errors.
 *
 * In the 'momentum' dialect the Sieve++ extension and the standard
 * extensions Momentum loads by default need no `require`
 * (docs/momentum-compatibility.md); in 'rfc' nothing is implicit and a
 * Sieve++ name is a clear error.
 */
import type { Invocation } from '../sieve/ast.js';
import type { Extension, PositionalSpec } from '../sieve/registry.js';
import type { Validator } from '../sieve/validate.js';
import { validateAssignment, variableValue } from './assign.js';
import { type FunctionRegistry, SIEVEPP_CAPABILITY } from './functions.js';
import type { MomentumLanguage } from './layer.js';
import { unavailableMessage } from './unavailable.js';
import { bitwiseAnd } from './bitwise-and.js';
import type { RelationalOp } from '../sieve/match/match-types.js';
import { usesSievepp, withMacros } from './script.js';


/**
 * Standard extensions Momentum loads without `require` (its Sieve
 * implementation has them built in): a Momentum script uses envelope,
 * body, relational, regex... without asking.
 */
const IMPLICIT = ['envelope', 'fileinto', 'reject', 'ereject', 'relational', 'regex', 'body', 'copy', 'subaddress', 'date', 'index', 'imap4flags', 'comparator-i;ascii-numeric', 'editheader', 'mailbox'];

/**
 * `reject` with or without a reason: Momentum's sieve-syntax-basic.md
 * prints `if not exists "Date" { reject; }`, though sieve-ref-reject.md's
 * synopsis gives the message as required. A script written after the
 * first should load; taking it costs nothing. Left out, the reason is empty
 * and the answer is the server's own text for a refusal (docs/server.md,
 * "What actions mean").
 */
const REJECT_REASON_OPTIONAL: readonly PositionalSpec[] = [{ name: 'reason', type: 'string', optional: true }];

/** Momentum's relational matches beside RFC 5231's (sieve-enhancements.md). */
const RELATIONAL_OPS: ReadonlyMap<string, RelationalOp> = new Map([[bitwiseAnd.name, bitwiseAnd]]);

/** Momentum's own capability names in `require` (sieve-ref-ec-action.md and the other pages): what they load here. */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  ec_action: [],
  ec_reject: ['reject'],
  ec_redirect: [],
  ec_include: [],
  ec_maildir: [],
  ec_tarpit: [],
  ec_disconnect: [],
  discard: [],
  keep: [],
  redirect: [],
  stop: [],
  vctx: [],
};

const layers = new WeakMap<FunctionRegistry, Map<string, Map<ReadOnly, MomentumLanguage>>>();

type ReadOnly = ((key: string) => boolean) | undefined;

/**
 * The Sieve++ layer for a function registry, dialect, phase and set of
 * read-only context keys (one object per combination, so registries are shared).
 */
export function momentumLanguage(functions: FunctionRegistry, dialect: 'momentum' | 'rfc' = 'momentum', phase?: string, readOnlyContextKey?: ReadOnly): MomentumLanguage {
  let byKey = layers.get(functions);
  if (!byKey) layers.set(functions, (byKey = new Map()));
  const key = `${dialect}/${phase ?? ''}`;
  let byReadOnly = byKey.get(key);
  if (!byReadOnly) byKey.set(key, (byReadOnly = new Map()));
  let layer = byReadOnly.get(readOnlyContextKey);
  if (!layer) byReadOnly.set(readOnlyContextKey, (layer = build(functions, dialect, phase, readOnlyContextKey)));
  return layer;
}

function build(functions: FunctionRegistry, dialect: 'momentum' | 'rfc', phase: string | undefined, readOnlyContextKey: ReadOnly): MomentumLanguage {
  const extensions: readonly Extension[] = [functions.extension()];
  const base = { functions, phase, dialect, extensions, ...(readOnlyContextKey ? { readOnlyContextKey } : {}), unknown: (v: Validator, node: Invocation, as: 'command' | 'test') => unknownMessage(v, node, as, functions, dialect) };
  if (dialect === 'rfc') return { ...base, requirable: (ext) => ext.capability !== SIEVEPP_CAPABILITY };
  return {
    ...base,
    prepare(script, v) {
      for (const cap of IMPLICIT) {
        const ext = v.registry.byCapability.get(cap);
        if (ext) v.loaded.add(ext);
      }
      v.loaded.add(extensions[0]!);
      // A Sieve++ script interpolates "${x}" and the macros without require;
      // a standard one keeps its standard meaning (docs/momentum-compatibility.md).
      if (usesSievepp(script, v.registry)) {
        v.layerStrings = v.variables = true;
        // sieve-syntax-basic.md, "Comparators": i;octet is Momentum's default. Only a
        // Sieve++ script gets it, so a standard script means the same in both dialects.
        v.defaultComparator = v.registry.comparators.get('i;octet')?.def;
      }
    },
    requireAlias: (name) => ALIASES[name.toLowerCase()],
    positional: (def) => (def.name === 'reject' ? REJECT_REASON_OPTIONAL : undefined),
    relationalOps: RELATIONAL_OPS,
    assignment: validateAssignment,
    variable: variableValue,
    template: withMacros,
  };
}

/**
 * The error for a name the validator does not know as a command or test:
 * in 'rfc', a Sieve++ name says so; a Momentum feature smtp-cbv does not
 * provide says that; a Sieve++ function that only gives a value says where
 * it belongs; anything else is Pigeonhole's wording.
 */
function unknownMessage(v: Validator, node: Invocation, as: 'command' | 'test', functions: FunctionRegistry, dialect: string): string | undefined {
  const owner = v.registry.commands.get(node.name)?.ext.capability;
  const sievepp = owner === SIEVEPP_CAPABILITY;
  // A standard name (envelope) is the standard extension's, whatever Sieve++ adds.
  const fn = owner === undefined ? functions.get(node.name) : undefined;
  if (dialect === 'rfc' && (sievepp || fn)) return `'${node.raw}' is a Momentum Sieve++ ${as}, which the 'rfc' dialect does not allow`;
  if (fn && !sievepp) return `'${node.raw}' gives a value and cannot be used as a ${as}: assign it, as in $x = ${node.raw} ...;`;
  return unavailableMessage(node.name, as);
}
