/**
 * Validating a script in turns of the event loop, for a host that compiles
 * while it serves (a reload: docs/server.md, "SIGHUP"): statements are
 * validated one after another as validate.ts does, and whenever `sliceMs`
 * has passed the event loop gets a turn. A command with a large block (a
 * policy wrapped in one `if`) or a large test list (`anyof` of thousands
 * of tests) is validated up to its tests, then its tests, then its block's
 * statements, each the same way, then the rest of it: the same checks in
 * the same order as one validation, so the same result. Work a
 * command's validation needs (include compiling its script) is done ahead,
 * in turns too (CommandDef.prepare).
 */
import { spanOf } from '../../grammars/sieve-nodes.js';
import { nextSlice, type SliceClock, sliceOver } from '../next-turn.js';
import type { Invocation, Statement } from './ast.js';
import type { Bound } from './registry.js';
import type { Validator } from './validate.js';
import { Sequence } from './validate-sequence.js';

/** A command or test spanning more characters than this has its block or test list validated in turns too: about a millisecond's work. */
const LARGE_CHARS = 16 * 1024;

/** The statements of a block at `depth`, validated and bound, with a turn whenever the clock's slice is over. */
export async function validateInSlices(v: Validator, statements: readonly Statement[], depth: number, clock: SliceClock): Promise<Bound[]> {
  const seq = new Sequence(v, depth);
  for (const s of statements) {
    if (seq.before(s)) {
      const small = spanOf(s) < LARGE_CHARS;
      // A small rule is validated in one turn, the commands of its blocks with it: their work is done ahead too.
      await prepareAhead(v, s, small);
      seq.after(s, small ? v.invocation(s, 'command', depth) : await invocationInSlices(v, s, 'command', depth, clock));
    }
    if (sliceOver(clock)) await nextSlice(clock);
  }
  return seq.bound();
}

/**
 * The long work (CommandDef.prepare) of `s`, and with `nested` of every
 * command in its blocks, in their order: an include inside a small `if`
 * would otherwise compile its script in the turn that validates the `if`.
 */
async function prepareAhead(v: Validator, s: Statement, nested: boolean): Promise<void> {
  if (s.kind !== 'command') return;
  const prepare = v.lookup(v.registry.commands, s.name)?.prepare;
  if (prepare) await prepare(s, v);
  if (nested && s.block) for (const inner of s.block) await prepareAhead(v, inner, true);
}

/** Validator.invocation for a large command or test: its tests, then its block, validated in turns. */
async function invocationInSlices(v: Validator, node: Invocation, as: 'command' | 'test', depth: number, clock: SliceClock): Promise<Bound | null> {
  const o = v.openedHead(node, as, depth);
  if (o === null) return null;
  for (const t of v.testsOf(o)) {
    v.tested(o, spanOf(t) < LARGE_CHARS ? v.invocation(t, 'test', depth) : await invocationInSlices(v, t, 'test', depth, clock));
    if (sliceOver(clock)) await nextSlice(clock);
  }
  v.openedTail(o);
  return v.closed(o, o.block && (await validateInSlices(v, o.block, depth + 1, clock)));
}
