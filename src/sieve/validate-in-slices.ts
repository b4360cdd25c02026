/**
 * Validating a script in turns of the event loop, for a host that compiles
 * while it serves (a reload: docs/server.md, "SIGHUP"): statements are
 * validated one after another as validate.ts does, and whenever `sliceMs`
 * has passed the event loop gets a turn. A command with a large block (a
 * policy wrapped in one `if`) is validated up to its block, then its
 * block's statements the same way, then the rest of it: the same checks
 * in the same order as one validation, so the same result. Work a
 * command's validation needs (include compiling its script) is done ahead,
 * in turns too (CommandDef.prepare).
 */
import { spanOf } from '../../grammars/sieve-nodes.js';
import { nextTurn } from '../next-turn.js';
import type { Statement } from './ast.js';
import type { Bound } from './registry.js';
import type { Validator } from './validate.js';
import { Sequence } from './validate-sequence.js';

/** A block spanning more characters than this is validated in turns too: about a millisecond's work. */
const LARGE_BLOCK_CHARS = 16 * 1024;

export interface SliceClock {
  sliceMs: number;
  /** When the current slice began (performance.now()). */
  since: number;
}

/** The statements of a block at `depth`, validated and bound, with a turn whenever the clock's slice is over. */
export async function validateInSlices(v: Validator, statements: readonly Statement[], depth: number, clock: SliceClock): Promise<Bound[]> {
  const seq = new Sequence(v, depth);
  for (const s of statements) {
    if (seq.before(s)) {
      const prepare = v.lookup(v.registry.commands, s.name)?.prepare;
      if (prepare) await prepare(s, v);
      if (!s.block?.length || spanOf(s) < LARGE_BLOCK_CHARS) seq.after(s, v.invocation(s, 'command', depth));
      else {
        const o = v.opened(s, 'command', depth);
        seq.after(s, o && v.closed(o, o.block && (await validateInSlices(v, o.block, depth + 1, clock))));
      }
    }
    if (performance.now() - clock.since >= clock.sliceMs) {
      await nextTurn();
      clock.since = performance.now();
    }
  }
  return seq.out;
}
