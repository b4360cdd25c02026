/**
 * Momentum's `body :binary <content types> [:offset <n>]`
 * (sieve-enhancements.md, ":binary"): like `:content`, the parts of those
 * types with the transfer encoding undone but no charset conversion, each
 * compared as its octets in lower-case hexadecimal separated by spaces
 * (`44 3c 00 01`), from byte `n` on. The tags attach to the standard body
 * test and own their effect (TagSpec.values).
 */
import { typeMatches } from '../sieve/extensions/body.js';
import type { TagAttachment } from '../sieve/registry.js';
import { decodedBytes } from '../sieve/runtime/mime-decode.js';
import { mimeTree, walkParts } from '../sieve/runtime/mime.js';

/** Octets compared at most per part: a large attachment must not become a huge string. */
const MAX_OCTETS = 1 << 20;

const hex = (bytes: Buffer): string => Array.from(bytes.subarray(0, MAX_OCTETS), (x) => x.toString(16).padStart(2, '0')).join(' ');

export const bodyBinaryTags: TagAttachment[] = [
  {
    commands: ['body'],
    tag: {
      name: 'binary',
      group: 'transform',
      args: [{ name: 'content types', type: 'stringlist' }],
      values(b, rt) {
        const specs = b.tags.get('binary')!.args.flatMap((v) => rt.list(v));
        const offsetArg = b.tags.get('offset')?.args[0];
        const offset = offsetArg?.kind === 'number' ? offsetArg.value : 0;
        const out: string[] = [];
        for (const p of walkParts(mimeTree(rt.requireMessage(b.node.pos)))) {
          if (p.type.startsWith('multipart/') || !specs.some((s) => typeMatches(s, p.type))) continue;
          const bytes = decodedBytes(p);
          if (bytes) out.push(hex(bytes.subarray(offset)));
        }
        return out;
      },
    },
  },
  {
    commands: ['body'],
    tag: {
      name: 'offset',
      args: [{ name: 'start', type: 'number' }],
      check(b, v) {
        if (!b.tags.has('binary')) v.error(b.tags.get('offset')!.pos, 'the :offset tag of the body test needs :binary');
      },
    },
  },
];
