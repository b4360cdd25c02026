/**
 * A language layered on the Sieve core: the seam through which Momentum's
 * Sieve++ (src/sievepp) plugs in, as any other host language would.
 *
 * The core knows RFC 5228 and its extensions only. A layer brings
 * extensions of its own (registered like any other, extension-registry.ts)
 * and answers the few questions the validator cannot answer alone: what an
 * assignment or a `$x` argument means, which extensions are loaded without
 * `require`, which other names `require` accepts, how strings expand, and
 * how to word an unknown name. Without a layer, the core compiles standard
 * Sieve only.
 */
import type { Assignment, Invocation, Script, VariableArg } from './ast.js';
import type { RelationalOp } from './match/match-types.js';
import type { Bound, CommandDef, Extension, PositionalSpec, Value } from './registry.js';
import type { Template } from './runtime/strings.js';
import type { Validator } from './validate.js';

export interface LanguageLayer {
  /** The parser dialect scripts are read in ('momentum' accepts `$x` and assignments). */
  readonly dialect: 'momentum' | 'rfc';
  /** Extensions the layer adds to the registry. */
  readonly extensions: readonly Extension[];
  /** Before validation: loads what needs no require, decides how strings expand. */
  prepare?(script: Script, v: Validator): void;
  /**
   * A `require` name the registry does not know: the capabilities it stands
   * for (an empty list: accepted, loads nothing), or undefined when unknown.
   */
  requireAlias?(name: string): readonly string[] | undefined;
  /** May this extension be required? (A layer can keep its own out of a standard script.) */
  requirable?(ext: Extension): boolean;
  /** An assignment statement, validated into a Bound the interpreter runs; null on errors. */
  assignment?(v: Validator, a: Assignment, depth: number): Bound | null;
  /** A `$x[...]` argument as a value. */
  variable?(v: Validator, a: VariableArg): Value;
  /** A string after variable parsing (Sieve++ macros); only called when `v.layerStrings` is on. */
  template?(t: Template): Template;
  /** Relational operators (:value, :count) beside RFC 5231's, by their lower-case name. */
  readonly relationalOps?: ReadonlyMap<string, RelationalOp>;
  /** The error for a name that is neither a command nor a test here; undefined for the core's wording. */
  unknown?(v: Validator, node: Invocation, as: 'command' | 'test'): string | undefined;
  /**
   * A core command's positional arguments as this language takes them, when
   * they differ (Momentum lets `reject` go without its reason); undefined
   * for the command's own. The command's execute must then do without what
   * a script may leave out.
   */
  positional?(def: CommandDef): readonly PositionalSpec[] | undefined;
}
