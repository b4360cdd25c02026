/**
 * RFC 5703: MIME part tests and iteration.
 *   mime         `:mime [:anychild]` on header, address and exists (4.1-4.3),
 *                and for header `:type`, `:subtype`, `:contenttype`,
 *                `:param` to read a Content-Type/-Disposition value (4.2).
 *   foreverypart runs its block once per MIME part (3); `break` leaves it.
 *   extracttext  stores the current part's text in a variable (7).
 * The tests read fields through selectedFields (core-tests.ts), which
 * consults `:mime`; the current part is kept in the run's state.
 */
import { runBlock } from '../interpreter.js';
import type { Bound, Extension, MaybePromise, TagSpec } from '../registry.js';
import { afterLoad, afterMimeTree, type MimePart, mimeTree, parseContentType, walkParts } from '../runtime/mime.js';
import { currentPart, PART_STACK } from '../runtime/mime-current-part.js';
import { decodedBody } from '../runtime/mime-decode.js';
import { insideReplaced } from '../runtime/mime-replaced.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Validator } from '../validate.js';
import { applyModifiers, checkVariableName, modifiersOf, modifierTags } from './variables.js';
import { htmlText } from '../runtime/html-text.js';

const needsMime = (tag: string) => (b: Bound, v: Validator) => {
  if (!b.tags.has('mime')) v.error(b.tags.get(tag)!.pos, `the :${tag} tag for the ${b.node.raw} test requires the :mime tag`);
};

const OPTION_TAGS: TagSpec[] = [
  { name: 'type', group: 'mime-option', check: needsMime('type') },
  { name: 'subtype', group: 'mime-option', check: needsMime('subtype') },
  { name: 'contenttype', group: 'mime-option', check: needsMime('contenttype') },
  { name: 'param', group: 'mime-option', args: [{ name: 'parameter names', type: 'stringlist' }], check: needsMime('param') },
];

/** RFC 5703 4.2: what a header option reads from a structured value; null when nothing. */
export function mimeOptionValues(b: Bound, rt: Runtime, values: string[]): string[] {
  const param = b.tags.get('param');
  const which = ['type', 'subtype', 'contenttype'].find((t) => b.tags.has(t));
  if (!param && !which) return values;
  const out: string[] = [];
  for (const v of values) {
    const { type, params } = parseContentType(v, '');
    const [main = '', sub = ''] = type.split('/');
    if (param) {
      for (const n of param.args.flatMap((a) => rt.list(a))) {
        const p = params[n.toLowerCase()];
        if (p !== undefined) out.push(p);
      }
    } else out.push(which === 'type' ? main : which === 'subtype' ? sub : type);
  }
  return out;
}

const MAX_LOOP_DEPTH = 4;
const LOOP_DEPTH = 'mime.loops';

const loopName = (l: Bound): string | undefined => {
  const n = l.tags.get('name')?.args[0];
  return n && n.kind === 'string' && typeof n.template === 'string' ? n.template : undefined;
};

/** `break` (RFC 5703 3): leaves the innermost loop, or the one with that :name. */
export class BreakSignal {
  constructor(readonly name: string | undefined) {}
}

function eachPart(b: Bound, rt: Runtime, parts: MimePart[], i: number, name: string | undefined): MaybePromise<void> {
  const stack = (rt.state.get(PART_STACK) as MimePart[] | undefined) ?? [];
  rt.state.set(PART_STACK, stack);
  for (; i < parts.length; i++) {
    // RFC 5703 5: the loop does not go into a part replace has replaced.
    if (insideReplaced(rt.state, parts[i]!)) continue;
    stack.push(parts[i]!);
    const done = () => void stack.pop();
    const stop = (e: unknown): boolean => {
      done();
      if (e instanceof BreakSignal && (e.name === undefined || e.name === name)) return true;
      throw e;
    };
    try {
      const r = runBlock(b.block ?? [], rt);
      if (r instanceof Promise) {
        const at = i;
        return r.then(
          () => (done(), eachPart(b, rt, parts, at + 1, name)),
          (e) => void stop(e),
        );
      }
      done();
    } catch (e) {
      if (stop(e)) return;
    }
  }
}

export const mime: Extension = {
  capability: 'mime',
  attachTags: [
    { commands: ['header', 'address', 'exists'], tag: { name: 'mime' } },
    { commands: ['header', 'address', 'exists'], tag: { name: 'anychild', check: needsMime('anychild') } },
    ...OPTION_TAGS.map((tag) => ({ commands: ['header'], tag })),
  ],
};

export const foreverypart: Extension = {
  capability: 'foreverypart',
  commands: [
    {
      name: 'foreverypart',
      kind: 'command',
      tags: [{ name: 'name', args: [{ name: 'loop name', type: 'string' }] }],
      block: 'required',
      needsMessage: true,
      validate(b, v) {
        // Pigeonhole's SIEVE_MAX_LOOP_DEPTH.
        if (v.enclosing.filter((e) => e.def.name === 'foreverypart').length >= MAX_LOOP_DEPTH) {
          v.error(b.node.pos, `foreverypart loops nest deeper than ${MAX_LOOP_DEPTH}`);
        }
      },
      execute(b, rt) {
        const msg = rt.requireMessage(b.node.pos);
        // Loops nest across include too: the limit holds at run time as well.
        const loops = (rt.state.get(LOOP_DEPTH) as number | undefined) ?? 0;
        if (loops >= MAX_LOOP_DEPTH) rt.fail(`foreverypart loops nest deeper than ${MAX_LOOP_DEPTH}`, b.node.pos);
        // At the top, every part including the message itself; nested, the parts inside the current one.
        const current = currentPart(rt.state);
        const later = current ? undefined : afterMimeTree(msg, rt.budget, () => b.def.execute!(b, rt));
        if (later) return later;
        const parts = current ? Array.from(walkParts(current)).slice(1) : Array.from(walkParts(mimeTree(msg)));
        const name = b.tags.get('name');
        rt.state.set(LOOP_DEPTH, loops + 1);
        const end = () => void rt.state.set(LOOP_DEPTH, loops);
        try {
          const r = eachPart(b, rt, parts, 0, name ? rt.string(name.args[0]!) : undefined);
          if (r instanceof Promise) {
            return r.then(end, (e) => {
              end();
              throw e;
            });
          }
          end();
        } catch (e) {
          end();
          throw e;
        }
      },
    },
    {
      name: 'break',
      kind: 'command',
      tags: [{ name: 'name', args: [{ name: 'loop name', type: 'string' }] }],
      validate(b, v) {
        const loops = v.enclosing.filter((e) => e.def.name === 'foreverypart');
        const name = b.tags.get('name');
        const wanted = name && name.args[0]!.kind === 'string' && typeof name.args[0]!.template === 'string' ? name.args[0]!.template : undefined;
        if (!loops.length) v.error(b.node.pos, 'the break command is not allowed outside a foreverypart loop');
        else if (wanted !== undefined && !loops.some((l) => loopName(l) === wanted)) v.error(b.node.pos, `the break command names no enclosing foreverypart loop '${wanted}'`);
      },
      execute(b, rt) {
        const name = b.tags.get('name');
        throw new BreakSignal(name ? rt.string(name.args[0]!) : undefined);
      },
    },
  ],
};

export const extracttext: Extension = {
  capability: 'extracttext',
  alsoRequires: ['foreverypart'],
  commands: [
    {
      name: 'extracttext',
      kind: 'command',
      tags: [...modifierTags, { name: 'first', args: [{ name: 'characters', type: 'number' }] }],
      positional: [{ name: 'variable name', type: 'string' }],
      validate(b, v) {
        if (!v.variables) return v.error(b.node.pos, 'the extracttext command requires the "variables" extension');
        // RFC 5703 7: only inside foreverypart.
        if (!v.enclosing.some((e) => e.def.name === 'foreverypart')) return v.error(b.node.pos, 'the extracttext command is not allowed outside a foreverypart loop');
        const name = checkVariableName(b, v, 0);
        if (name !== null) b.data = { name: name.toLowerCase(), modifiers: modifiersOf(b, v) };
      },
      execute(b, rt) {
        const part = currentPart(rt.state);
        if (!part) return rt.fail('extracttext used outside foreverypart', b.node.pos);
        // RFC 5703 7: text parts only, decoded; HTML reduced to its text.
        let text = '';
        if (/^text\//.test(part.type)) {
          const later = afterLoad(part.ready?.('body'), rt.budget, () => b.def.execute!(b, rt));
          if (later) return later;
          const t = decodedBody(part, rt.budget) ?? '';
          text = part.type === 'text/html' ? htmlText(t) : t;
        }
        const first = b.tags.get('first')?.args[0];
        if (first?.kind === 'number') text = Array.from(text).slice(0, first.value).join('');
        rt.setVariable((b.data as { name: string }).name, applyModifiers(b, rt, text));
      },
    },
  ],
};
