/**
 * The Sieve abstract syntax tree: what grammars/sieve.ts produces and every
 * later stage (validator, interpreter, runner) consumes. It mirrors RFC 5228
 * section 8.2 (command = identifier arguments (";" / block)) plus the
 * Momentum Sieve++ forms (assignment, list unpacking, `$x` arguments with
 * `[index]`). The parser knows no command names: meaning is given later by
 * the extension registry.
 *
 * Every node carries `pos` (its first character) and `end` (just past its
 * last character), so errors and coverage can point at source text.
 *
 * A parsed node has some of its fields on its class's prototype (`kind`,
 * `raw`, and others: grammars/sieve-nodes.ts says why). Read them as
 * properties, or walk them with `for...in`: Object.keys, spread and
 * JSON.stringify see only a node's own.
 */
import type { Position } from '../diagnostics.js';

export interface NodeBase {
  pos: Position;
  end: Position;
}

export interface Script extends NodeBase {
  kind: 'script';
  commands: Statement[];
}

/** What may stand in a command list: a command, or (Sieve++) an assignment. */
export type Statement = Command | Assignment;

/** Fields shared by commands, tests and Sieve++ calls: `identifier arguments [test / test-list]`. */
export interface Invocation extends NodeBase {
  /** The identifier in lower case: Sieve identifiers are case-insensitive (RFC 5228 2.9). */
  name: string;
  /** The identifier as written, for messages. */
  raw: string;
  arguments: Argument[];
  /** The test, or the members of the test list, that follow the arguments. */
  tests: Test[];
  /** True when the tests were written as a parenthesised test list `( ... )`. */
  testList: boolean;
}

export interface Command extends Invocation {
  kind: 'command';
  /** The commands of the block, or null when the command ended with ';'. */
  block: Statement[] | null;
}

export interface Test extends Invocation {
  kind: 'test';
}

/** Sieve++: the right-hand side of an assignment when it names a command, test or function. */
export interface Call extends Invocation {
  kind: 'call';
}

export type Argument = StringArg | StringListArg | NumberArg | TagArg | VariableArg;

/** A quoted string or a `text:` multi-line string, with escapes and dot-stuffing undone. */
export interface StringArg extends NodeBase {
  kind: 'string';
  value: string;
  multiline: boolean;
}

/** A bracketed string list `["a", "b"]`. A lone string is a StringArg, not a one-item list. */
export interface StringListArg extends NodeBase {
  kind: 'stringlist';
  items: StringArg[];
}

export interface NumberArg extends NodeBase {
  kind: 'number';
  /** The value with its K/M/G quantifier applied (RFC 5228 2.4.1). */
  value: number;
  /** As written, e.g. "10K". */
  raw: string;
}

export interface TagArg extends NodeBase {
  kind: 'tag';
  /** Lower case, without the colon: `:Contains` gives "contains". */
  name: string;
  /** As written, with the colon. */
  raw: string;
}

/** Sieve++: `$name`, optionally indexed: `$h["key"]`, `$v[0]`, `$m["a"][1]`. */
export interface VariableArg extends NodeBase {
  kind: 'variable';
  /** Lower case, without the `$`: variable names are case-insensitive (RFC 5229 3). */
  name: string;
  raw: string;
  index: Array<StringArg | NumberArg | VariableArg>;
}

/**
 * Sieve++: `$x = <call or value>;` or `($a, $b) = <call>;`.
 * `unpack` is true for the parenthesised form, even with one target.
 */
export interface Assignment extends NodeBase {
  kind: 'assignment';
  targets: VariableArg[];
  unpack: boolean;
  value: Call | Argument;
}

export type Node = Script | Command | Test | Call | Assignment | Argument;
