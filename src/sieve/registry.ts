/**
 * The shape of a Sieve extension, declared as data.
 *
 * Each file in src/sieve/extensions/ exports one `Extension`: its capability
 * string (RFC 5228 section 3.2), the commands and tests it adds with their
 * argument signatures, tags it attaches to other extensions' commands (as
 * `:copy` attaches to `redirect`, RFC 3894), and the match types,
 * comparators and address parts it contributes. The one array in
 * extensions/index.ts serves `require`, validation and dispatch, so a
 * feature is registered in exactly one place.
 *
 * Semantics live beside the signature: a command's `execute`, a test's
 * `evaluate`. Both may return a Promise (host look-ups); the interpreter only
 * pays for asynchrony when one does.
 */
import type { Argument, Command, Invocation, StringArg, Test } from './ast.js';
import type { Position } from '../diagnostics.js';
import type { Action } from './action.js';
import type { Comparator } from './match/comparators.js';
import type { MatchType, RelationalOp } from './match/match-types.js';
import type { AddressPart } from './runtime/address-parts.js';
import type { Runtime } from './runtime/runtime.js';
import type { Template } from './runtime/strings.js';
import type { Validator } from './validate.js';

/**
 * The type of one argument slot. A `stringlist` slot also takes a lone string (RFC 5228 2.4.2.1).
 * 'any' (Sieve++ functions only) takes a string, string list, number or variable.
 */
export type ArgType = 'string' | 'stringlist' | 'number' | 'any';

export interface PositionalSpec {
  /** Used in messages, e.g. "header names". */
  name: string;
  type: ArgType;
  /**
   * A leading argument that may be left out (imap4flags' variable name,
   * RFC 5232 3). The bound node's `args` then hold only what was given.
   */
  optional?: boolean;
}

/** A tag a command accepts, with the arguments that follow it (`:days 7`). */
export interface TagSpec {
  name: string;
  args?: Array<{ name: string; type: ArgType }>;
  /** Tags of one group exclude each other (e.g. ":mime" options). */
  group?: string;
  /** Checks after the command's arguments are sorted (e.g. :last needs :index); report with v.error. */
  check?(b: Bound, v: Validator): void;
  /**
   * What the tag does to the action its command takes (RFC 3894 `:copy`
   * keeps the implicit keep; RFC 8579 `:specialuse` chooses the mailbox
   * from its argument).
   */
  effect?(a: Action, args: Value[], rt: Runtime, b: Bound): void;
  /** For a tag that chooses what its test compares (a body transform another extension adds): those values. */
  values?(b: Bound, rt: Runtime): string[];
  /**
   * For tags on `set`: the variable modifier it is (RFC 5229 4.1), e.g.
   * regex's :quoteregex. `trim` repairs a value the size limit cut, when
   * this modifier was the last applied (enotify's :encodeurl never leaves
   * half an escape, RFC 5435 6).
   */
  modifier?: { precedence: number; apply(s: string): string; trim?(fitted: string): string };
  /**
   * A tag that gives its command another meaning (RFC 6134 2.4 `redirect
   * :list`: the argument names a list, not an address): its checks and run
   * replace the command's own.
   */
  instead?: { validate?(b: Bound, v: Validator): void; execute(b: Bound, rt: Runtime): MaybePromise<void> };
}

/** Shared tag families a test or command takes: RFC 5228 2.7.1-2.7.4. */
export type TagFamily = 'match-type' | 'comparator' | 'address-part';

/**
 * A value a language layer computes at run time instead of expanding a
 * template (Sieve++'s `$x[...]`, language.ts): its string and list forms.
 */
export interface ValueSource {
  string(rt: Runtime): string;
  list(rt: Runtime): string[];
}

/** A string, string list or number argument after validation: strings are templates ready to expand. */
export type Value =
  /** `source`: a layer's run-time value (a Sieve++ `$x[...]`: a list stays a list). */
  /** `constant`: a constant string's one-item list, made once (Runtime.list; never changed by its readers). */
  | { kind: 'string'; template: Template; node: StringArg; source?: ValueSource; constant?: string[] }
  | { kind: 'stringlist'; templates: Template[]; node: Argument; constant?: string[] }
  | { kind: 'number'; value: number; node: Argument };

/** What a command or test looks like after validation: its definition and its sorted arguments. */
export interface Bound {
  node: Invocation;
  def: CommandDef;
  /** Positional arguments, in order. */
  args: Value[];
  /** Tags by name (without colon) with their arguments and their definition (which may own an effect). */
  tags: Map<string, BoundTag>;
  /** `relational`: the language layer's operator that `arg` names, when it is none of RFC 5231's. */
  matchType?: { def: MatchType; arg?: Value; relational?: RelationalOp };
  comparator?: Comparator;
  addressPart?: AddressPart;
  tests: Bound[];
  block: Bound[] | null;
  /** For if: the elsif/else that follow it. For elsif/else: true, so that a block skips them. */
  chain?: Bound[];
  chained?: boolean;
  /** Per-command data computed at validation (a compiled regex, a parsed flag list...). */
  data?: unknown;
  /** The closures a run calls for this node as a command and as a test, made on first use (interpreter.ts). */
  compiled?: (rt: Runtime) => MaybePromise<unknown>;
  compiledTest?: (rt: Runtime) => MaybePromise<boolean>;
}

/** A tag as a bound node has it: where it was written, its parameters, and its definition. */
export interface BoundTag {
  readonly pos: Position;
  readonly args: Value[];
  readonly spec?: TagSpec;
}

export type MaybePromise<T> = T | Promise<T>;

export interface CommandDef {
  name: string;
  /** 'hybrid': usable as a command and as a test (Pigeonhole's test_message). */
  kind: 'command' | 'test' | 'hybrid';
  positional?: PositionalSpec[];
  tags?: TagSpec[];
  families?: TagFamily[];
  /** Default: no block. */
  block?: 'none' | 'optional' | 'required';
  /** Default: no tests. */
  tests?: 'none' | 'one' | 'list';
  /** The comparator when none is given (RFC 5235: i;ascii-numeric for spamtest); default i;ascii-casemap. */
  defaultComparator?: Comparator;
  /** Tests that read the message: refused in SMTP phases that have none. */
  needsMessage?: boolean;
  /**
   * For tests whose outcome is known at compile time (ihave, RFC 5463 4):
   * false means the block it guards is never run, so it is not validated.
   */
  constant?(b: Bound): boolean | undefined;
  /** Extra checks after the generic ones; report with v.error. */
  validate?(b: Bound, v: Validator): void;
  /**
   * Long work `validate` will need (include compiling the script it
   * names), done ahead in turns of the event loop by a host that compiles
   * while it serves (validate-in-slices.ts), just before the command is
   * validated: `validate` then finds it done. A plain compile never calls it.
   */
  prepare?(node: Command, v: Validator): Promise<void>;
  execute?(b: Bound, rt: Runtime): MaybePromise<void>;
  evaluate?(b: Bound, rt: Runtime): MaybePromise<boolean>;
  /**
   * `execute` or `evaluate` for one use, made once and called every run:
   * what cannot change between runs (constant names and keys, the match
   * type, the comparator) is worked out here instead of at each run. Its
   * answer must be what `execute`/`evaluate` would give; undefined when
   * this use is not one it handles (then they run).
   */
  compile?(b: Bound): ((rt: Runtime) => MaybePromise<unknown>) | undefined;
}

export interface EnvelopePart {
  name: string;
  values(b: Bound, rt: Runtime): string[];
}

/** A tag an extension attaches to commands of other extensions (RFC 3894 `:copy`). */
export interface TagAttachment {
  commands: string[];
  tag: TagSpec;
}

export interface Extension {
  /** The capability string for `require`; the core uses "" and needs no require. */
  capability: string;
  commands?: CommandDef[];
  attachTags?: TagAttachment[];
  matchTypes?: MatchType[];
  comparators?: Comparator[];
  addressParts?: AddressPart[];
  /** Runs when the extension is required: e.g. encoded-character turns on string decoding. */
  onRequire?(v: Validator, at: Invocation): void;
  /**
   * Variable namespaces (RFC 5229 3) the extension provides: "${name.path}"
   * reads `read(rt, path)`, e.g. include's "global" (RFC 6609 3.5) or
   * vnd.dovecot.environment's "env".
   */
  namespaces?: Array<{
    name: string;
    read(rt: Runtime, path: string): string;
    /**
     * Brings what `read` will need and is not at hand (a message kept on
     * disk, its MIME structure) into memory before a run of a script that
     * references these paths starts, so that `read`, which a string's
     * expansion calls, stays synchronous; undefined when all is at hand.
     */
    prepare?(rt: Runtime, paths: readonly string[]): Promise<void> | undefined;
  }>;
  /**
   * Envelope parts (RFC 5228 5.4) the extension adds to the envelope test
   * once required (RFC 6009: "bytimeabsolute", ...): their values are
   * compared as they are, without an address part.
   */
  envelopeParts?: EnvelopePart[];
  /** Capabilities that must be required with this one (RFC 5703 7: extracttext needs foreverypart). */
  alsoRequires?: string[];
  /** Capabilities that may appear in `require` but cannot be used directly (Pigeonhole's "implicit"). */
  hidden?: boolean;
}

export type { Command, Test };
