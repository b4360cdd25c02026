/**
 * Building AST nodes (src/sieve/ast.ts) from tokens.
 *
 * A node keeps the offsets of its first and last token, and computes its
 * `pos` and `end` (line, column, offset) the first time something asks:
 * most nodes of a valid script are never asked, and a position object for
 * each node was a third of what a parse kept in memory (and so of its
 * garbage-collection time). The offsets are private fields, invisible to
 * Object.keys, spreads and JSON, so a node reads as the plain object the
 * AST interface describes. Every node of one kind is made by one class, so
 * V8 gives all of them one shape, and names are stored once per spelling.
 */
import type { IToken } from './chevrotain.js';
import type { Position } from '../src/diagnostics.js';
import type { Argument, Assignment, Call, Command, NumberArg, Statement, StringArg, StringListArg, TagArg, Test, VariableArg } from '../src/sieve/ast.js';
import { decodeMultiLine, decodeNumber, decodeQuoted } from './sieve-literals.js';
import type { LineIndex } from './sieve-positions.js';

/** A name as written and in lower case (without its `:` or `$`). */
interface Name {
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
function nameOf(image: string, skip: 0 | 1): Name {
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
 * A node's place in the text: where its first token starts and where its
 * last one ends, in private fields (invisible to Object.keys, spreads, JSON
 * and deep equality, so that a node reads as the plain object the AST
 * interface describes). Three fields, not four: the line index is only
 * needed until the position is first computed, and a NodePosition keeps it
 * for `end`. Every field costs 8 bytes in each of some 100,000 nodes of a
 * 1 MiB script, all of which the young-generation collector copies.
 */
abstract class Located {
  readonly #start: number;
  readonly #stop: number;
  /** The line index until `pos` is first asked (the interpreter asks at every step), then the position. */
  #at: LineIndex | NodePosition;

  constructor(lines: LineIndex, first: IToken, last: IToken) {
    this.#at = lines;
    this.#start = first.startOffset;
    this.#stop = last.startOffset + last.image.length;
  }

  /** Its first character. */
  get pos(): Position {
    const at = this.#at;
    if (at instanceof NodePosition) return at;
    return (this.#at = new NodePosition(at, at.position(this.#start)));
  }

  /** Just past its last character (asked for rarely: not kept). */
  get end(): Position {
    const at = this.#at;
    return (at instanceof NodePosition ? at.lines : at).after(this.#stop);
  }
}

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
/** `identifier arguments [test / test-list]`: a test, a call, or (with its block) a command. */
class InvocationNode<K extends 'command' | 'test' | 'call'> extends Located {
  declare readonly kind: K;
  declare readonly name: string;
  declare readonly raw: string;
  declare readonly arguments: Argument[];
  declare readonly tests: Test[];
  declare readonly testList: boolean;
  constructor(kind: K, lines: LineIndex, id: IToken, last: IToken, args: Argument[], tests: Test[], testList: boolean) {
    super(lines, id, last);
    this.kind = kind;
    const name = nameOf(id.image, 0);
    this.name = name.lower;
    this.raw = name.raw;
    this.arguments = exact(args);
    this.tests = orNone(tests);
    this.testList = testList;
  }
}

class CommandNode extends InvocationNode<'command'> implements Command {
  declare readonly block: Statement[] | null;
  constructor(lines: LineIndex, id: IToken, last: IToken, args: Argument[], tests: Test[], testList: boolean, block: Statement[] | null) {
    super('command', lines, id, last, args, tests, testList);
    this.block = block;
  }
}

class StringNode extends Located implements StringArg {
  declare readonly kind: 'string';
  declare readonly value: string;
  declare readonly multiline: boolean;
  constructor(lines: LineIndex, first: IToken, last: IToken, value: string, multiline: boolean) {
    super(lines, first, last);
    this.kind = 'string';
    this.value = value;
    this.multiline = multiline;
  }
}

class StringListNode extends Located implements StringListArg {
  declare readonly kind: 'stringlist';
  declare readonly items: StringArg[];
  constructor(lines: LineIndex, open: IToken, close: IToken, items: StringArg[]) {
    super(lines, open, close);
    this.kind = 'stringlist';
    this.items = items;
  }
}

class NumberNode extends Located implements NumberArg {
  declare readonly kind: 'number';
  declare readonly value: number;
  declare readonly raw: string;
  constructor(lines: LineIndex, tok: IToken) {
    super(lines, tok, tok);
    const image = tok.image;
    this.kind = 'number';
    this.value = plainNumber(image) ? decodeNumber(image).value : Number(image);
    this.raw = nameOf(image, 0).raw;
  }
}

class TagNode extends Located implements TagArg {
  declare readonly kind: 'tag';
  declare readonly name: string;
  declare readonly raw: string;
  constructor(lines: LineIndex, tok: IToken) {
    super(lines, tok, tok);
    this.kind = 'tag';
    const name = nameOf(tok.image, 1);
    this.name = name.lower;
    this.raw = name.raw;
  }
}

class VariableNode extends Located implements VariableArg {
  declare readonly kind: 'variable';
  declare readonly name: string;
  declare readonly raw: string;
  declare readonly index: VariableArg['index'];
  constructor(lines: LineIndex, tok: IToken, last: IToken, index: VariableArg['index']) {
    super(lines, tok, last);
    this.kind = 'variable';
    const name = nameOf(tok.image, 1);
    this.name = name.lower;
    this.raw = name.raw;
    this.index = orNone(index);
  }
}

class AssignmentNode extends Located implements Assignment {
  declare readonly kind: 'assignment';
  declare readonly targets: VariableArg[];
  declare readonly unpack: boolean;
  declare readonly value: Call | Argument;
  constructor(lines: LineIndex, first: IToken, last: IToken, targets: VariableArg[], unpack: boolean, value: Call | Argument) {
    super(lines, first, last);
    this.kind = 'assignment';
    this.targets = targets;
    this.unpack = unpack;
    this.value = value;
  }
}

/** A command that ends at `last` (its ';' or its block's '}'). */
export function commandNode(lines: LineIndex, id: IToken, last: IToken, args: Argument[], tests: Test[], testList: boolean, block: Command['block']): Command {
  return new CommandNode(lines, id, last, args, tests, testList, block);
}

export function testNode(lines: LineIndex, id: IToken, last: IToken, args: Argument[], tests: Test[], testList: boolean): Test {
  return new InvocationNode('test', lines, id, last, args, tests, testList);
}

export function callNode(lines: LineIndex, id: IToken, last: IToken, args: Argument[], tests: Test[], testList: boolean): Call {
  return new InvocationNode('call', lines, id, last, args, tests, testList);
}

/** A quoted or multi-line string. */
export function stringNode(lines: LineIndex, tok: IToken, multiline: boolean): StringArg {
  return new StringNode(lines, tok, tok, multiline ? decodeMultiLine(tok.image) : decodeQuoted(tok.image), multiline);
}

/** A string that stands where the tokens from `first` to `last` are (a Sieve++ `$name` list item). */
export function stringAt(lines: LineIndex, first: IToken, last: IToken, value: string): StringArg {
  return new StringNode(lines, first, last, value, false);
}

export function stringListNode(lines: LineIndex, open: IToken, close: IToken, items: StringArg[]): StringListArg {
  return new StringListNode(lines, open, close, items);
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

export function numberNode(lines: LineIndex, tok: IToken): NumberArg {
  return new NumberNode(lines, tok);
}

export function tagNode(lines: LineIndex, tok: IToken): TagArg {
  return new TagNode(lines, tok);
}

export function variableNode(lines: LineIndex, tok: IToken, index: VariableArg['index'], last: IToken): VariableArg {
  return new VariableNode(lines, tok, last, index);
}

/** `targets = value;` from its first token to its ';'. */
export function assignmentNode(lines: LineIndex, first: IToken, last: IToken, targets: VariableArg[], unpack: boolean, value: Call | Argument): Assignment {
  return new AssignmentNode(lines, first, last, targets, unpack, value);
}
