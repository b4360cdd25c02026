/**
 * `set` with modifiers above :length works over only the part of a large
 * value a variable can keep (docs/sieve-interpreter.md, "CPU budget and
 * time slices"). What is kept must be what the modifiers over the whole
 * value, cut to the size limit (RFC 5229 3, 4.1), would keep: checked on
 * strings of characters where the cut is delicate (surrogate pairs,
 * characters whose case mapping is longer, a final sigma, characters the
 * quoting and :encodeurl modifiers escape).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyModifiers } from '../../src/sieve/extensions/variables.js';
import { execute, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import type { Runtime } from '../../src/sieve/runtime/runtime.js';
import { compiled } from './helpers.js';

const envelope = { from: 'joe@example.com', to: ['alice@example.org'] };
const chars = ['a', 'Z', ' ', 'ß', 'İ', 'Σ', 'ς', '€', '😀', '*', '\\', '?', '%', '.', 'ﬃ', '=', 'é'];
const text = fc.array(fc.constantFrom(...chars), { maxLength: 300 }).map((a) => a.join(''));

function run(script: string, s: string, maxVariableSize: number): ExecutionResult {
  const message = parseMessage(`From: joe@example.com\r\nX-S: ${s}\r\n\r\nbody\r\n`);
  return execute(compiled(script), { message, envelope }, {}, { limits: { maxVariableSize } }) as ExecutionResult;
}

describe('what a variable keeps of a modified value', () => {
  const modifiers = [':lower', ':upper', ':upperfirst', ':lowerfirst', ':quotewildcard', ':quoteregex', ':encodeurl', ':lower :quotewildcard', ':upper :encodeurl', ':length', ':upper :length'];
  it.each(modifiers)('set %s', (mods) => {
    const script = `require ["variables", "regex", "enotify"]; if header :matches "X-S" "*" { set "h" "\${1}"; set ${mods} "y" "\${1}"; }`;
    const set = (compiled(script).commands.find((c) => c.def.name === 'if')!.block ?? []).find((c) => c.def.name === 'set' && (c.data as { modifiers: unknown[] }).modifiers.length > 0)!;
    fc.assert(
      fc.property(text, fc.integer({ min: 1, max: 40 }), (s, kept) => {
        const cut = run(script, s, kept);
        expect(cut.errors).toEqual([]);
        const value = run(script, s, 1e9).runtime.variable('h', undefined);
        // The modifiers over the whole value (no size to cut it to), then the variable's cut.
        const whole = { budget: { charge() {} }, maxVariableOctets: NaN, fitVariable: (v: string) => cut.runtime.fitVariable(v) } as unknown as Runtime;
        expect(cut.runtime.variable('y', undefined)).toBe(cut.runtime.fitVariable(applyModifiers(set, whole, value)));
      }),
    );
  });
});
