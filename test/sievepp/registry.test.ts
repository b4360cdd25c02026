/**
 * The function registry as another module uses it: declare a function
 * (sync or async, phase-bound), add it with `with`, compile and run.
 */
import { describe, expect, it } from 'vitest';
import { compileSieve } from '../../src/sievepp/compile.js';
import { execute } from '../../src/sieve/interpreter.js';
import { argString, builtinFunctions, FunctionRegistry, type SieveFunction } from '../../src/sievepp/index.js';

const lookup: SieveFunction = {
  name: 'rbl_lookup',
  uses: { value: true, test: true },
  params: [{ name: 'ip', type: 'string' }],
  phases: ['connect'],
  call: async (b, rt) => {
    await new Promise((r) => setTimeout(r, 5));
    return argString(b, rt, 0) === '192.0.2.66' ? ['127.0.0.2'] : [];
  },
};
const shout: SieveFunction = { name: 'shout', uses: { value: true }, params: [{ name: 'text', type: 'string' }], call: (b, rt) => argString(b, rt, 0)!.toUpperCase() };
const functions = builtinFunctions().with(lookup, shout);

async function run(script: string, phase?: string) {
  const c = compileSieve(script, { functions });
  expect(c.diagnostics).toEqual([]);
  return execute(c.script!, { message: null, envelope: { from: '', to: [] }, phase }, {});
}

describe('FunctionRegistry', () => {
  it('runs a sync function without a Promise, and awaits an async one', async () => {
    const c = compileSieve('$x = shout "hi";', { functions });
    const sync = execute(c.script!, { message: null, envelope: { from: '', to: [] } }, {});
    expect(sync).not.toBeInstanceOf(Promise);
    expect((await sync).runtime.variable('x', undefined)).toBe('HI');
    const r = await run('if rbl_lookup "192.0.2.66" { ec_action 554 "listed"; }', 'connect');
    expect(r.actions.map((a) => a.data)).toEqual([{ code: 554, text: 'listed' }]);
  });

  it('checks phases at compile time when known, at run time otherwise', async () => {
    expect(compileSieve('$x = rbl_lookup "1.2.3.4";', { functions, phase: 'data' }).diagnostics.map((d) => d.message)).toEqual([
      'rbl_lookup is not allowed in the data phase (only in connect)',
    ]);
    expect((await run('$x = rbl_lookup "1.2.3.4";', 'rcptto')).errors.map((e) => e.message)).toEqual(['rbl_lookup is not allowed in the rcptto phase (only in connect)']);
    expect((await run('$x = rbl_lookup "1.2.3.4";')).errors).toEqual([]);
  });

  it('leaves the built-in registry alone and knows only its own functions', () => {
    expect(builtinFunctions().get('shout')).toBeUndefined();
    expect(compileSieve('$x = shout "a";').diagnostics.map((d) => d.message)).toEqual(["unknown test 'shout' (only reported once at first occurrence)"]);
  });

  it('refuses programming errors: a name twice, an optional parameter before a required one', () => {
    expect(() => new FunctionRegistry([shout, shout])).toThrow("Sieve++ function 'shout' registered twice");
    const bad: SieveFunction = { ...shout, name: 'bad', params: [{ name: 'a', type: 'string', optional: true }, { name: 'b', type: 'string' }] };
    expect(() => new FunctionRegistry([bad])).toThrow("Sieve++ function 'bad': optional parameters must come last");
  });
});
