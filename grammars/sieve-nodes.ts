/**
 * Building AST nodes (src/sieve/ast.ts) from the offsets and names the
 * parser reads in the Scan (sieve-scanner.ts).
 *
 * A node keeps the offsets of its first and last token, and computes its
 * `pos` and `end` (line, column, offset) the first time something asks:
 * most nodes of a valid script are never asked, and a position object for
 * each node was a third of what a parse kept in memory (and so of its
 * garbage-collection time). The offsets are in symbol-keyed fields,
 * invisible to Object.keys, Object.entries and JSON, so a node reads as the
 * plain object the AST interface describes. Every node of one kind is made by one class, so
 * V8 gives all of them one shape, and names are stored once per spelling.
 */
import type { Position } from '../src/diagnostics.js';
import type { Argument, Assignment, Call, Command, NumberArg, Statement, StringArg, StringListArg, TagArg, Test, VariableArg } from '../src/sieve/ast.js';
import { decodeMultiLine, decodeNumber, decodeQuoted } from './sieve-literals.js';
import type { LineIndex } from './sieve-positions.js';

/** A name as written and in lower case (without its `:` or `$`). */
export interface Name {
  readonly lower: string;
  readonly raw: string;
}

/**
 * Names (commands, tags, variables) in lower case and as written, one pair
 * of strings per spelling, found with one look-up: a script repeats a few
 * names thousands of times, and every copy would outlive the parse in the
 * AST.
 */
const names: Array<Map<string, Name>> = [new Map(), new Map()];
export function nameOf(image: string, skip: 0 | 1): Name {
  const known = names[skip]!;
  let name = known.get(image);
  if (name === undefined) {
    if (known.size > 10_000) known.clear();
    name = { lower: image.slice(skip).toLowerCase(), raw: image };
    known.set(image, name);
  }
  return name;
}

/**
 * The name written in `text` from `start` to just before `stop`, found
 * without cutting it out first: a direct-mapped cache, hashed over the
 * characters, answers most look-ups by comparing in place; a miss cuts the
 * name and asks nameOf. Cutting every name out of the text (and hashing
 * the copy) was a twentieth of a parse.
 */
const CACHE_BITS = 10;
const recent: Array<Array<Name | undefined>> = [new Array(1 << CACHE_BITS).fill(undefined), new Array(1 << CACHE_BITS).fill(undefined)];
export function nameAt(text: string, start: number, stop: number, skip: 0 | 1): Name {
  let h = stop - start;
  for (let i = start; i < stop; i++) h = (Math.imul(h, 31) + text.charCodeAt(i)) | 0;
  const slot = (h ^ (h >>> CACHE_BITS)) & ((1 << CACHE_BITS) - 1);
  const cache = recent[skip]!;
  const hit = cache[slot];
  if (hit !== undefined && hit.raw.length === stop - start && text.startsWith(hit.raw, start)) return hit;
  return (cache[slot] = nameOf(text.slice(start, stop), skip));
}

/**
 * A node's place in the text: where its first token starts and where its
 * last one ends, in symbol-keyed fields (invisible to Object.keys,
 * Object.entries and JSON). Not private fields: V8 defines those through an
 * initialiser function per construction, which was a twelfth of a parse.
 * Three fields, not four: the line index is only
 * needed until the position is first computed, and a NodePosition keeps it
 * for `end`. Every field costs 8 bytes in each of some 100,000 nodes of a
 * 1 MiB script, all of which the young-generation collector copies.
 */
const START = Symbol('start');
const STOP = Symbol('stop');
const AT = Symbol('at');

/**
 * `pos` and `end`, the same two getters on every node class's prototype.
 * Not a base class: each node's constructor assigns the three fields
 * itself, so every assignment site sees one shape. In a base constructor
 * the same three stores saw the shape of every node kind, a megamorphic
 * site V8 answers through a shared cache on each store: 6% of a parse's
 * profile.
 */
interface Located {
  // Assigned once, in the constructor (readonly would forbid that through an interface).
  [START]: number;
  [STOP]: number;
  /** The line index until `pos` is first asked (the interpreter asks at every step), then the position. */
  [AT]: LineIndex | NodePosition;
}

/** What every node class has besides its own fields (declared through interface merging: nothing is emitted). */
interface Placed extends Located {
  readonly pos: Position;
  readonly end: Position;
}

const located: PropertyDescriptorMap & ThisType<Located> = {
  /** Its first character. */
  pos: {
    get(this: Located): Position {
      const at = this[AT];
      if (at instanceof NodePosition) return at;
      return (this[AT] = new NodePosition(at, at.position(this[START])));
    },
    configurable: true,
  },
  /** Just past its last character (asked for rarely: not kept). */
  end: {
    get(this: Located): Position {
      const at = this[AT];
      return (at instanceof NodePosition ? at.lines : at).after(this[STOP]);
    },
    configurable: true,
  },
};


/** A node's `pos`, which also remembers the line index its `end` is found with. */
class NodePosition implements Position {
  declare readonly line: number;
  declare readonly column: number;
  declare readonly offset: number;
  readonly #lines: LineIndex;
  constructor(lines: LineIndex, p: Position) {
    this.#lines = lines;
    this.line = p.line;
    this.column = p.column;
    this.offset = p.offset;
  }
  get lines(): LineIndex {
    return this.#lines;
  }
}

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
/** `identifier arguments [test / test-list]`: a test or a call. */
class InvocationNode<K extends 'test' | 'call'> {
  declare readonly kind: K;
  declare readonly name: string;
  declare readonly raw: string;
  declare readonly arguments: Argument[];
  declare readonly tests: Test[];
  declare readonly testList: boolean;
  constructor(kind: K, lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean) {
    this[AT] = lines;
    this[START] = start;
    this[STOP] = stop;
    this.kind = kind;
    this.name = name.lower;
    this.raw = name.raw;
    this.arguments = exact(args);
    this.tests = orNone(tests);
    this.testList = testList;
  }
}

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
    this[START] = start;
    this[STOP] = stop;
    this.kind = 'command';
    this.name = name.lower;
    this.raw = name.raw;
    this.arguments = exact(args);
    this.tests = orNone(tests);
    this.testList = testList;
    this.block = block;
  }
}

class StringNode implements StringArg {
  declare readonly kind: 'string';
  declare readonly value: string;
  declare readonly multiline: boolean;
  constructor(lines: LineIndex, start: number, stop: number, value: string, multiline: boolean) {
    this[AT] = lines;
    this[START] = start;
    this[STOP] = stop;
    this.kind = 'string';
    this.value = value;
    this.multiline = multiline;
  }
}

class StringListNode implements StringListArg {
  declare readonly kind: 'stringlist';
  declare readonly items: StringArg[];
  constructor(lines: LineIndex, start: number, stop: number, items: StringArg[]) {
    this[AT] = lines;
    this[START] = start;
    this[STOP] = stop;
    this.kind = 'stringlist';
    this.items = items;
  }
}

class NumberNode implements NumberArg {
  declare readonly kind: 'number';
  declare readonly value: number;
  declare readonly raw: string;
  constructor(lines: LineIndex, start: number, stop: number, image: string) {
    this[AT] = lines;
    this[START] = start;
    this[STOP] = stop;
    this.kind = 'number';
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
    this[START] = start;
    this[STOP] = stop;
    this.kind = 'tag';
    this.name = name.lower;
    this.raw = name.raw;
  }
}

class VariableNode implements VariableArg {
  declare readonly kind: 'variable';
  declare readonly name: string;
  declare readonly raw: string;
  declare readonly index: VariableArg['index'];
  constructor(lines: LineIndex, start: number, stop: number, name: Name, index: VariableArg['index']) {
    this[AT] = lines;
    this[START] = start;
    this[STOP] = stop;
    this.kind = 'variable';
    this.name = name.lower;
    this.raw = name.raw;
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
    this[START] = start;
    this[STOP] = stop;
    this.kind = 'assignment';
    this.targets = targets;
    this.unpack = unpack;
    this.value = value;
  }
}

interface InvocationNode<K extends 'test' | 'call'> extends Placed {}
interface CommandNode extends Placed {}
interface StringNode extends Placed {}
interface StringListNode extends Placed {}
interface NumberNode extends Placed {}
interface TagNode extends Placed {}
interface VariableNode extends Placed {}
interface AssignmentNode extends Placed {}
for (const node of [InvocationNode, CommandNode, StringNode, StringListNode, NumberNode, TagNode, VariableNode, AssignmentNode]) Object.defineProperties(node.prototype, located);

/*
 * The factories take a node's start offset, the offset just past its end,
 * and the names and text they read: the parser finds them in the Scan by token
 * index (sieve-scanner.ts), so no token object is needed.
 */
/** A command from its identifier to its ';' or its block's '}'. */
export function commandNode(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean, block: Command['block']): Command {
  return new CommandNode(lines, start, stop, name, args, tests, testList, block);
}

export function testNode(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean): Test {
  return new InvocationNode('test', lines, start, stop, name, args, tests, testList);
}

export function callNode(lines: LineIndex, start: number, stop: number, name: Name, args: Argument[], tests: Test[], testList: boolean): Call {
  return new InvocationNode('call', lines, start, stop, name, args, tests, testList);
}

/** A quoted or multi-line string, written in `text` from `start` to just before `stop`. */
export function stringNode(lines: LineIndex, start: number, stop: number, text: string, multiline: boolean): StringArg {
  return new StringNode(lines, start, stop, multiline ? decodeMultiLine(text, start, stop) : quotedValue(text, start, stop), multiline);
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
  return new StringNode(lines, start, stop, value, false);
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

/** How many characters a node spans in its script's text; 0 for a node the parser did not make. */
export function spanOf(node: object): number {
  const n = node as Partial<Located>;
  return n[STOP] !== undefined && n[START] !== undefined ? n[STOP] - n[START] : 0;
}

/** Where a node made by the parser begins in its script's text; NaN for another. */
export function startOf(node: object): number {
  return (node as Partial<Located>)[START] ?? Number.NaN;
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
  c[STOP] = stop;
  (c as { block: Statement[] | null }).block = block.slice();
  return c;
}

/** `targets = value;` from its first token to its ';'. */
export function assignmentNode(lines: LineIndex, start: number, stop: number, targets: VariableArg[], unpack: boolean, value: Call | Argument): Assignment {
  return new AssignmentNode(lines, start, stop, targets, unpack, value);
}
