/**
 * Bound nodes (src/sieve/registry.ts, Bound): what the validator makes of
 * each command and test, and what the interpreter runs.
 */
import type { Invocation, TagArg } from './ast.js';
import type { Position } from '../diagnostics.js';
import type { Bound, BoundTag, CommandDef, TagSpec, Value } from './registry.js';

/**
 * What a bound node has none of, shared until it has some: a compiled
 * script keeps its bound nodes, one per command and test (43,000 for the
 * parser benchmark's 1 MiB script), and an empty Map and two arrays grown
 * by push each kept about 500 bytes of them alive, most of what a compile
 * held and its collector copied. They refuse to change, so that nothing
 * adds to every node's at once.
 */
class NoTags extends Map<string, BoundTag> {
  override set(): never {
    throw new Error('a bound node without tags shares this map: give it one of its own');
  }
}
const NO_TAGS: Map<string, BoundTag> = new NoTags();
export const NO_BOUNDS: Bound[] = Object.freeze([]) as never;
export const NO_VALUES: Value[] = Object.freeze([]) as never;

/** `b`'s tags, made its own first if it still shares NO_TAGS. */
export function ownTags(b: Bound): Map<string, BoundTag> {
  if (b.tags === NO_TAGS) b.tags = new Map();
  return b.tags;
}

/**
 * A bound node with every field present from the start: the interpreter
 * reads the same fields of every node it runs, and nodes that all have
 * one shape keep those reads monomorphic (fast) in V8.
 */
export function newBound(node: Invocation, def: CommandDef, data?: unknown): Bound {
  return {
    node,
    def,
    args: NO_VALUES,
    tags: NO_TAGS,
    matchType: undefined,
    comparator: undefined,
    addressPart: undefined,
    tests: NO_BOUNDS,
    block: null,
    chain: undefined,
    chained: undefined,
    data,
    compiled: undefined,
    compiledTest: undefined,
  };
}

/** A tag of a bound node. Its position is its node's, made when first asked (for a message), not for every tag of a script. */
class TagOfBound implements BoundTag {
  readonly #tag: TagArg;
  declare readonly args: Value[];
  declare readonly spec: TagSpec | undefined;
  constructor(tag: TagArg, args: Value[], spec: TagSpec | undefined) {
    this.#tag = tag;
    this.args = args.length === 0 ? NO_VALUES : args.slice();
    this.spec = spec;
  }
  get pos(): Position {
    return this.#tag.pos;
  }
}

export function boundTag(tag: TagArg, args: Value[], spec: TagSpec | undefined): BoundTag {
  return new TagOfBound(tag, args, spec);
}
