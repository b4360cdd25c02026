/**
 * RFC 5260 section 6: the index extension. `:index N` (counting from 1)
 * selects one occurrence of the named header fields, from the end with
 * `:last`, for header, address and date (the tests read it through
 * selectedFields in core-tests.ts).
 */
import type { Extension, TagSpec } from '../registry.js';

/** `:index N` and `:last` (RFC 5260 6); editheader's deleteheader has the same two (RFC 5293 5). */
export const INDEX_TAGS: TagSpec[] = [
  {
    name: 'index',
    args: [{ name: 'field number', type: 'number' }],
    check(b, v) {
      const n = b.tags.get('index')!.args[0]!;
      if (n.kind === 'number' && n.value < 1) v.error(n.node.pos, `the :index tag for the ${b.node.raw} ${b.def.kind} requires a field number of 1 or more`);
    },
  },
  {
    name: 'last',
    check(b, v) {
      if (!b.tags.has('index')) v.error(b.tags.get('last')!.pos, `the :last tag cannot be specified without the :index tag for the ${b.node.raw} ${b.def.kind}`);
    },
  },
];

export const index: Extension = {
  capability: 'index',
  attachTags: INDEX_TAGS.map((tag) => ({ commands: ['header', 'address', 'date'], tag })),
};
