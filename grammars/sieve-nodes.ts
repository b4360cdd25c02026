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

/**
 * Names (commands, tags, variables) in lower case, one string per spelling:
 * a script repeats a few names thousands of times, and every copy would
 * outlive the parse in the AST.
 */
const lowerNames: Array<Map<string, string>> = [new Map(), new Map()];
export function lowerName(image: string, skip: 0 | 1): string {
  const names = lowerNames[skip]!;
  let name = names.get(image);
  if (name === undefined) {
    if (names.size > 10_000) names.clear();
    name = image.slice(skip).toLowerCase();
    names.set(image, name);
  }
  return name;
}

/**
 * A node's place in the text: where its first token starts and where its
 * last one ends, in private fields (invisible to Object.keys, spreads, JSON
 * and deep equality, so that a node reads as the plain object the AST
 * interface describes).
 */
abstract class Located {
  readonly #lines: LineIndex;
  readonly #start: number;
  readonly #stop: number;
  /** Set on first use: the interpreter asks a node it runs for its position at every step. */
  #pos: Position | undefined;

  constructor(lines: LineIndex, first: IToken, last: IToken) {
    this.#lines = lines;
    this.#start = first.startOffset;
    this.#stop = last.startOffset + last.image.length;
  }

  /** Its first character. */
  get pos(): Position {
    return (this.#pos ??= this.#lines.position(this.#start));
  }

  /** Just past its last character (asked for rarely: not kept). */
  get end(): Position {
    return this.#lines.after(this.#stop);
  }
}

/** A spelling as written, one string per spelling (as lowerName does for the lower-case names). */
const spellings = new Map<string, string>();
function spelling(image: string): string {
  let s = spellings.get(image);
  if (s === undefined) {
    if (spellings.size > 10_000) spellings.clear();
    spellings.set(image, (s = image));
  }
  return s;
}

/**
 * The empty argument and test lists all nodes share: a list of nothing
 * costs nothing per node. Frozen, as AST lists are never changed.
 */
const NONE: never[] = Object.freeze([]) as never[];
const orNone = <T>(list: T[]): T[] => (list.length === 0 ? NONE : list);

/**
 * A list built by push, copied to its exact size: a pushed-to array keeps
 * room for 17 entries, and AST lists (mostly of one to three) live as long
 * as the compiled script.
 */
export const exact = <T>(list: T[]): T[] => (list.length === 0 ? NONE : list.slice());

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
    this.name = lowerName(id.image, 0);
    this.raw = spelling(id.image);
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
    this.raw = spelling(image);
  }
}

class TagNode extends Located implements TagArg {
  declare readonly kind: 'tag';
  declare readonly name: string;
  declare readonly raw: string;
  constructor(lines: LineIndex, tok: IToken) {
    super(lines, tok, tok);
    this.kind = 'tag';
    this.name = lowerName(tok.image, 1);
    this.raw = spelling(tok.image);
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
    this.name = lowerName(tok.image, 1);
    this.raw = spelling(tok.image);
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
