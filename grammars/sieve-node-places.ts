/**
 * Where an AST node is in its script's text, kept as small as it can be
 * (grammars/sieve-nodes.ts makes the nodes; docs/architecture.md, "What a
 * class shares is not a field", has the measurements).
 */
import type { Position } from '../src/diagnostics.js';
import type { LineIndex } from './sieve-positions.js';

/**
 * A node's place in the text: where its first token starts and where its
 * last one ends, in symbol-keyed fields (invisible to Object.keys,
 * Object.entries and JSON). Not private fields: V8 defines those through an
 * initialiser function per construction, which was a twelfth of a parse.
 * Two fields: the line index (needed until the position is first computed;
 * a NodePosition keeps it for `end`), and the start and length packed in
 * one small integer. Every field costs 8 bytes in each of some 100,000
 * nodes of a 1 MiB script, all of which the young-generation collector
 * copies, twice: a parse's time is mostly that copying.
 *
 * The integer is a V8 small integer (31 bits and a sign) so that it is
 * stored in the node itself: 21 bits of start (2 MiB) and 10 of length. A
 * node that does not fit (a block or string over a thousand characters, or
 * anything past 2 MiB into a script larger than the default limit) has -1
 * there and its offsets in a side table; few nodes are that long.
 */
const PLACE = Symbol('place');
export const AT = Symbol('at');
const SPAN_BITS = 10;
const MAX_SPAN = (1 << SPAN_BITS) - 1;
const MAX_START = (1 << (31 - SPAN_BITS)) - 1;
const FAR = -1;
const farPlaces = new WeakMap<object, readonly [start: number, stop: number]>();

export function place(node: Located, start: number, stop: number): void {
  const span = stop - start;
  if (start <= MAX_START && span >= 0 && span <= MAX_SPAN) {
    node[PLACE] = start * (1 << SPAN_BITS) + span;
  } else {
    node[PLACE] = FAR;
    farPlaces.set(node, [start, stop]);
  }
}

export function startAt(node: Located): number {
  const p = node[PLACE];
  return p === FAR ? farPlaces.get(node)![0] : p >>> SPAN_BITS;
}

export function stopAt(node: Located): number {
  const p = node[PLACE];
  return p === FAR ? farPlaces.get(node)![1] : (p >>> SPAN_BITS) + (p & MAX_SPAN);
}

/**
 * `pos` and `end`, the same two getters on every node class's prototype.
 * Not one base class for every kind: each node's constructor assigns the
 * two fields itself, so an assignment site sees one shape (two where a
 * kind has a twin subclass, grammars/sieve-nodes.ts). In one base
 * constructor the same stores saw the shape of every node kind, a
 * megamorphic site V8 answers through a shared cache on each store: 6% of
 * a parse's profile.
 */
export interface Located {
  // Assigned once, in the constructor (readonly would forbid that through an interface).
  [PLACE]: number;
  /** The line index until `pos` is first asked (the interpreter asks at every step), then the position. */
  [AT]: LineIndex | NodePosition;
}

/** What every node class has besides its own fields (declared through interface merging: nothing is emitted). */
export interface Placed extends Located {
  readonly pos: Position;
  readonly end: Position;
}

export const located: PropertyDescriptorMap & ThisType<Located> = {
  /** Its first character. */
  pos: {
    get(this: Located): Position {
      const at = this[AT];
      if (at instanceof NodePosition) return at;
      return (this[AT] = new NodePosition(at, at.position(startAt(this))));
    },
    configurable: true,
  },
  /** Just past its last character (asked for rarely: not kept). */
  end: {
    get(this: Located): Position {
      return linesOf(this).after(stopAt(this));
    },
    configurable: true,
  },
};

/**
 * `raw`, the name as written, read from the text when asked (for messages
 * only): the identifier starts the node, and is ASCII, so it is `skip`
 * characters (a tag's ':', a variable's '$') and the name long.
 */
export function named(skip: 0 | 1): PropertyDescriptorMap {
  return {
    raw: {
      get(this: Located & { readonly name: string }): string {
        const start = startAt(this);
        return linesOf(this).slice(start, start + skip + this.name.length);
      },
      enumerable: true,
      configurable: true,
    },
  };
}

/** The line index of a node's script, kept by the node until its `pos` is made, then by the `pos`. */
function linesOf(node: Located): LineIndex {
  const at = node[AT];
  return at instanceof NodePosition ? at.lines : at;
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

/** How many characters a node spans in its script's text; 0 for a node the parser did not make. */
export function spanOf(node: object): number {
  const n = node as Located;
  return n[PLACE] === undefined ? 0 : stopAt(n) - startAt(n);
}

/** Where a node made by the parser begins in its script's text; NaN for another. */
export function startOf(node: object): number {
  const n = node as Located;
  return n[PLACE] === undefined ? Number.NaN : startAt(n);
}
