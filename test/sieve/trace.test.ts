/**
 * The interpreter's trace hook (used by smtp-cbv run --trace and
 * --coverage): each command run and each test with its result, the
 * elsif/else reached, nothing for branches not taken; absent, nothing is
 * recorded and the result is the same.
 */
import { describe, expect, it } from 'vitest';
import { execute } from '../../src/sieve/interpreter.js';
import type { TraceEvent } from '../../src/sieve/runtime/trace.js';
import { compiled } from './helpers.js';

const SCRIPT = 'require "envelope";\nif envelope :is "from" "a@x.test" { keep; }\nelsif anyof (false, true) { discard; }\nelse { stop; }\n';
const env = (from: string) => ({ message: null, envelope: { from, to: ['b@y.test'] } });

async function traced(from: string) {
  const events: TraceEvent[] = [];
  const r = await execute(compiled(SCRIPT), env(from), {}, { trace: (e) => events.push(e) });
  return { r, events: events.map((e) => (e.kind === 'test' ? `${e.pos.line}:${e.name}=${e.result}` : `${e.pos.line}:${e.name}`)) };
}

describe('trace hook', () => {
  it('records the commands run and each test with its result, in evaluation order', async () => {
    expect((await traced('a@x.test')).events).toEqual(['1:require', '2:if', '2:envelope=true', '2:keep']);
    expect((await traced('other@x.test')).events).toEqual(['1:require', '2:if', '2:envelope=false', '3:elsif', '3:false=false', '3:true=true', '3:anyof=true', '3:discard']);
  });

  it('changes nothing about the result', async () => {
    const plain = await execute(compiled(SCRIPT), env('other@x.test'));
    const { r } = await traced('other@x.test');
    expect(r.actions.map((a) => a.type)).toEqual(plain.actions.map((a) => a.type));
    expect(r.implicitKeep).toBe(plain.implicitKeep);
  });
});
