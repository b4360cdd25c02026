/**
 * Building AST nodes (src/sieve/ast.ts) from the offsets and names the
 * parser reads in the Scan (sieve-scanner.ts).
 *
 * A node keeps the offsets of its first and last token, and computes its
 * `pos` and `end` (line, column, offset) the first time something asks
 * (sieve-node-places.ts): most nodes of a valid script are never asked.
 * Every node of one kind is made by one class, so V8 gives all of them one
 * shape, and names are stored once per spelling (sieve-names.ts).
 *
 * What is the same for every node of a class is its class's, not a field
 * of each node: `kind`, a string's `multiline` (a `text:` string has a
 * class of its own), the empty tests and missing block of a command that
 * ends with ';' and of a test without tests (classes of their own), and
 * the name as written, `raw`, read from the text when asked. They are
 * enumerable on the prototype, so `for...in` and property reads see every
 * field the AST interface describes, while Object.keys and JSON see only
 * the node's own. A parse's time is mostly the young-generation collector
 * copying the nodes, so every field of some 100,000 counts: this took a
 * quarter off what the benchmark's parse keeps (docs/architecture.md).
 */
import type { Argument, Assignment, Call, Command, NumberArg, Statement, StringArg, StringListArg, TagArg, Test, VariableArg } from '../src/sieve/ast.js';
import { decodeMultiLine, decodeNumber, decodeQuoted } from './sieve-literals.js';
import type { LineIndex } from './sieve-positions.js';
import { type Name, nameOf } from './sieve-names.js';
import { AT, located, named, type Placed, place, startAt } from './sieve-node-places.js';

export { type Name, nameAt, nameOf } from './sieve-names.js';
export { spanOf, startOf } from './sieve-node-places.js';

/**
 * The empty argument and test lists all nodes share: a list of nothing
 * costs nothing per node. Frozen, as AST lists are never changed.
 */
export const NONE: never[] = Object.freeze([]) as never[];
const orNone = <T>(list: T[]): T[] => (list.length === 0 ? NONE : list);

/**
 * Adds to a list that started as NONE. Up to three items, each addition
 * makes a new list of exactly the new size; past that the list grows by
 * push and `exact` copies it to its size when complete. AST lists (mostly
 * of one to three items) live as long as the compiled script; growing by
 * push would give each a backing store of 17 entries, then a copy.
 */
export function append<T>(list: T[], item: T): T[] {
  switch (list.length) {
    case 0:
      return [item];
    case 1:
      return [list[0]!, item];
    case 2:
      return [list[0]!, list[1]!, item];
    default:
      list.push(item);
      return list;
  }
}

/** A list made by `append` (or a literal of up to three items), at its exact size. */
export const exact = <T>(list: T[]): T[] => (list.length <= 3 ? list : list.slice());

/*
 * One class per kind, each with one constructor that assigns every field
 * (declared, not class fields: a class field is defined before the
 * constructor runs, then assigned again).
 */
/**
 * `identifier arguments [test / test-list]`: a test or a call, one
 * subclass each for its `kind`. The constructor's stores then see two
 * shapes, which V8 handles as well as one (it is one base for every kind
 * that is slow: a megamorphic store).
 */
class Invocation<K extends 'test' | 'call'> {
  declare readonly kind: K;
  declare readonly name: string;
  declare readonly raw: string;
  declare readonly arguments: Argument[];
  declare readonly tests: Test[];
  declare readonly testList: boolean;
  constructor(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean) {
    this[AT] = lines;
    place(this, start, stop);
    this.name = name.lower;
    this.arguments = exact(args);
    this.tests = orNone(tests);
    this.testList = testList;
  }
}
class TestNode extends Invocation<'test'> {}
/** Sieve++: a call on an assignment's right-hand side. */
class CallNode extends Invocation<'call'> {}

/** A command: an invocation with its ';' or its block. */
class CommandNode implements Command {
  declare readonly kind: 'command';
  declare readonly name: string;
  declare readonly raw: string;
  declare readonly arguments: Argument[];
  declare readonly tests: Test[];
  declare readonly testList: boolean;
  declare readonly block: Statement[] | null;
  constructor(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean, block: Statement[] | null) {
    this[AT] = lines;
    place(this, start, stop);
    this.name = name.lower;
    this.arguments = exact(args);
    this.tests = orNone(tests);
    this.testList = testList;
    this.block = block;
  }
}

/**
 * A command that ends with ';' and has no tests (`keep;`, `fileinto "x";`,
 * most of a script's commands), or a test without tests (all but allof,
 * anyof and not): its empty tests and missing block are its class's, not
 * fields of its own.
 */
class Simple<K extends 'command' | 'test'> {
  declare readonly kind: K;
  declare readonly name: string;
  declare readonly raw: string;
  declare readonly arguments: Argument[];
  declare readonly tests: Test[];
  declare readonly testList: boolean;
  constructor(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[]) {
    this[AT] = lines;
    place(this, start, stop);
    this.name = name.lower;
    this.arguments = exact(args);
  }
}
class SimpleCommandNode extends Simple<'command'> implements Command {
  declare readonly block: Statement[] | null;
}
class SimpleTestNode extends Simple<'test'> {}

class StringNode implements StringArg {
  declare readonly kind: 'string';
  declare readonly value: string;
  declare readonly multiline: boolean;
  constructor(lines: LineIndex, start: number, stop: number, value: string) {
    this[AT] = lines;
    place(this, start, stop);
    this.value = value;
  }
}

/** A `text:` string: a subclass so that `multiline` is its class's, not a field. */
class MultiLineNode extends StringNode {}

class StringListNode implements StringListArg {
  declare readonly kind: 'stringlist';
  declare readonly items: StringArg[];
  constructor(lines: LineIndex, start: number, stop: number, items: StringArg[]) {
    this[AT] = lines;
    place(this, start, stop);
    this.items = items;
  }
}

class NumberNode implements NumberArg {
  declare readonly kind: 'number';
  declare readonly value: number;
  declare readonly raw: string;
  constructor(lines: LineIndex, start: number, stop: number, image: string) {
    this[AT] = lines;
    place(this, start, stop);
    this.value = plainNumber(image) ? decodeNumber(image).value : Number(image);
    this.raw = nameOf(image, 0).raw;
  }
}

class TagNode implements TagArg {
  declare readonly kind: 'tag';
  declare readonly name: string;
  declare readonly raw: string;
  constructor(lines: LineIndex, start: number, stop: number, name: Name) {
    this[AT] = lines;
    place(this, start, stop);
    this.name = name.lower;
  }
}

class VariableNode implements VariableArg {
  declare readonly kind: 'variable';
  declare readonly name: string;
  declare readonly raw: string;
  declare readonly index: VariableArg['index'];
  constructor(lines: LineIndex, start: number, stop: number, name: Name, index: VariableArg['index']) {
    this[AT] = lines;
    place(this, start, stop);
    this.name = name.lower;
    this.index = orNone(index);
  }
}

class AssignmentNode implements Assignment {
  declare readonly kind: 'assignment';
  declare readonly targets: VariableArg[];
  declare readonly unpack: boolean;
  declare readonly value: Call | Argument;
  constructor(lines: LineIndex, start: number, stop: number, targets: VariableArg[], unpack: boolean, value: Call | Argument) {
    this[AT] = lines;
    place(this, start, stop);
    this.targets = targets;
    this.unpack = unpack;
    this.value = value;
  }
}

interface Invocation<K extends 'test' | 'call'> extends Placed {}
interface CommandNode extends Placed {}
interface Simple<K extends 'command' | 'test'> extends Placed {}
interface StringNode extends Placed {}
interface StringListNode extends Placed {}
interface NumberNode extends Placed {}
interface TagNode extends Placed {}
interface VariableNode extends Placed {}
interface AssignmentNode extends Placed {}
/** A simple node's empty tests. */
const simple: PropertyDescriptorMap = { tests: { value: NONE, enumerable: true }, testList: { value: false, enumerable: true } };
const kinds: Array<[{ prototype: object }, string, PropertyDescriptorMap]> = [
  [TestNode, 'test', named(0)],
  [CallNode, 'call', named(0)],
  [CommandNode, 'command', named(0)],
  [SimpleCommandNode, 'command', { ...named(0), ...simple, block: { value: null, enumerable: true } }],
  [SimpleTestNode, 'test', { ...named(0), ...simple }],
  [StringNode, 'string', { multiline: { value: false, enumerable: true } }],
  [MultiLineNode, 'string', { multiline: { value: true, enumerable: true } }],
  [StringListNode, 'stringlist', {}],
  [NumberNode, 'number', {}],
  [TagNode, 'tag', named(1)],
  [VariableNode, 'variable', named(1)],
  [AssignmentNode, 'assignment', {}],
];
for (const [node, kind, own] of kinds) Object.defineProperties(node.prototype, { ...located, kind: { value: kind, enumerable: true }, ...own });

/*
 * The factories take a node's start offset, the offset just past its end,
 * and the names and text they read: the parser finds them in the Scan by token
 * index (sieve-scanner.ts), so no token object is needed.
 */
/** A command from its identifier to its ';' or its block's '}'. */
export function commandNode(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean, block: Command['block']): Command {
  if (block === null && tests.length === 0 && !testList) return new SimpleCommandNode(lines, start, stop, name, args);
  return new CommandNode(lines, start, stop, name, args, tests, testList, block);
}

export function testNode(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean): Test {
  if (tests.length === 0 && !testList) return new SimpleTestNode(lines, start, stop, name, args);
  return new TestNode(lines, start, stop, name, args, tests, testList);
}

export function callNode(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean): Call {
  return new CallNode(lines, start, stop, name, args, tests, testList);
}

/** A quoted or multi-line string, written in `text` from `start` to just before `stop`. */
export function stringNode(lines: LineIndex, start: number, stop: number, text: string, multiline: boolean): StringArg {
  return multiline ? new MultiLineNode(lines, start, stop, decodeMultiLine(text, start, stop)) : new StringNode(lines, start, stop, quotedValue(text, start, stop));
}

const VALUE_BITS = 12;
const MAX_SHARED_VALUE = 64;
const values: Array<string | undefined> = new Array(1 << VALUE_BITS).fill(undefined);
/**
 * A quoted string's value. One written without escapes or line breaks (most
 * are) is its text between the quotes, and the same string is shared by
 * every quoted string that spells it: a repeated header name or folder
 * costs no string that outlives the parse. A direct-mapped cache, hashed
 * over the length and a few of the characters (a loop over all of them was
 * 6% of a parse), is compared in place; a value found there has neither
 * escapes nor line breaks, so only a miss is cut out and looked at.
 */
function quotedValue(text: string, start: number, stop: number): string {
  const from = start + 1;
  const length = stop - 1 - from;
  if (length > MAX_SHARED_VALUE) return decodeQuoted(text, start, stop);
  let h = length;
  if (length > 0) {
    h = Math.imul(h, 31) + text.charCodeAt(from);
    h = Math.imul(h, 31) + text.charCodeAt(from + (length >> 1));
    h = Math.imul(h, 31) + text.charCodeAt(from + length - 1);
  }
  const slot = (h ^ (h >>> VALUE_BITS) ^ (h >>> (2 * VALUE_BITS))) & ((1 << VALUE_BITS) - 1);
  const hit = values[slot];
  if (hit !== undefined && hit.length === length && text.startsWith(hit, from)) return hit;
  const body = text.slice(from, from + length);
  if (body.indexOf('\\') >= 0 || body.indexOf('\n') >= 0 || body.indexOf('\r') >= 0) return decodeQuoted(text, start, stop);
  return (values[slot] = body);
}

/** A string that stands where other tokens are (a Sieve++ `$name` list item). */
export function stringAt(lines: LineIndex, start: number, stop: number, value: string): StringArg {
  return new StringNode(lines, start, stop, value);
}

export function stringListNode(lines: LineIndex, start: number, stop: number, items: StringArg[]): StringListArg {
  return new StringListNode(lines, start, stop, items);
}

/** Whether a string's value is longer than `maxBytes` in UTF-8 (at most 3 bytes per UTF-16 unit). */
export function stringTooLong(value: string, maxBytes: number): boolean {
  return value.length * 3 > maxBytes && Buffer.byteLength(value) > maxBytes;
}

/** Whether a number is RFC 5228 2.4.1's (digits and a quantifier); Sieve++ also has `-41.65`. */
export function plainNumber(image: string): boolean {
  const c = image.charCodeAt(0);
  return c >= 48 && c <= 57 && image.indexOf('.') < 0;
}

export function numberNode(lines: LineIndex, start: number, stop: number, image: string): NumberArg {
  return new NumberNode(lines, start, stop, image);
}

export function tagNode(lines: LineIndex, start: number, stop: number, name: Name): TagArg {
  return new TagNode(lines, start, stop, name);
}

export function variableNode(lines: LineIndex, start: number, stop: number, name: Name, index: VariableArg['index']): VariableArg {
  return new VariableNode(lines, start, stop, name, index);
}

/** A command or test parsed with the first test of its list only, given all of them (a large list parsed in pieces: sieve-pieces.ts). */
export function withTests(node: Command | Test, tests: Test[]): void {
  (node as { tests: Test[] }).tests = tests.slice();
}

/**
 * A command parsed with an empty block, given the statements of its block
 * and the end of its '}' (a large block parsed in pieces: sieve-pieces.ts).
 * The block's list is at its exact size, as one parse makes it.
 */
export function withBlock(command: Statement, block: Statement[], stop: number): Command {
  const c = command as CommandNode;
  place(c, startAt(c), stop);
  (c as { block: Statement[] | null }).block = block.slice();
  return c;
}

/** `targets = value;` from its first token to its ';'. */
export function assignmentNode(lines: LineIndex, start: number, stop: number, targets: VariableArg[], unpack: boolean, value: Call | Argument): Assignment {
  return new AssignmentNode(lines, start, stop, targets, unpack, value);
}
