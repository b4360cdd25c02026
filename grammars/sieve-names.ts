/**
 * Names (commands, tags, variables) as the parser finds them, for the AST
 * nodes (grammars/sieve-nodes.ts).
 */
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
