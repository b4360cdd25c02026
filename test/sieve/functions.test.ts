/**
 * Sieve++ plumbing: how extension functions (CBV, DNS) plug in. A module
 * exports an Extension whose functions return values or Promises; a
 * registry built with it compiles scripts that assign their results.
 */
import { describe, expect, it } from 'vitest';
import { compileSieve } from '../../src/sieve/compile.js';
import { ExtensionRegistry } from '../../src/sieve/extension-registry.js';
import { extensions } from '../../src/sieve/extensions/index.js';
import { execute } from '../../src/sieve/interpreter.js';
import type { Extension } from '../../src/sieve/registry.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';

/** A stand-in for src/cbv's smtp_callback_verify: asynchronous, returns a list. */
const probes: string[] = [];
const fakeCbv: Extension = {
  capability: 'vnd.test.probe',
  sievePlusPlus: true,
  commands: [
    {
      name: 'probe',
      kind: 'function',
      positional: [{ name: 'address', type: 'string' }],
      async call(b, rt) {
        const address = rt.string(b.args[0]!);
        probes.push(address);
        await new Promise((r) => setTimeout(r, 1));
        return address.endsWith('@bad.example') ? ['550', 'no such user'] : ['250', 'ok'];
      },
    },
  ],
};
const registry = new ExtensionRegistry([...extensions, fakeCbv]);
const ctx = (from: string) => ({ message: parseMessage('Subject: x\n\nbody\n'), envelope: { from, to: ['rcpt@example.org'] } });

describe('extension functions', () => {
  const script = `
    require "envelope";
    ($code, $text) = probe "\${sender}";
    if string :is "\${code}" "550" { discard; }
  `.replace('${sender}', 'someone@bad.example');

  it('assigns an awaited function result and unpacks lists', async () => {
    const c = compileSieve(script, { registry });
    expect(c.diagnostics).toEqual([]);
    const r = await execute(c.script!, ctx('x@y'), {});
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => a.type)).toEqual(['discard']);
    expect(r.runtime.variable('text', undefined)).toBe('no such user');
    expect(probes).toContain('someone@bad.example');
  });

  it('needs no require for Sieve++ functions in the momentum dialect, but does in rfc', () => {
    expect(compileSieve('probe "a@b";', { registry }).diagnostics).toEqual([]);
    expect(compileSieve('probe "a@b";', { registry, dialect: 'rfc' }).diagnostics[0]?.message).toMatch(/unknown command 'probe'/);
  });

  it('reads $x and indexes lists', async () => {
    const c = compileSieve('$v = ["a", "b", "c"]; $x = $v[1]; if string :is "${x}" "b" { discard; }');
    expect(c.diagnostics).toEqual([]);
    const r = await execute(c.script!, ctx('x@y'));
    expect(r.actions.map((a) => a.type)).toEqual(['discard']);
  });

  it('leaves "${x}" literal in a standard script without variables', async () => {
    const c = compileSieve('if header :is "subject" "${x}" { discard; }');
    const r = await execute(c.script!, { message: parseMessage('Subject: ${x}\n\nb\n'), envelope: { from: '', to: [] } });
    expect(r.actions.map((a) => a.type)).toEqual(['discard']);
  });
});
