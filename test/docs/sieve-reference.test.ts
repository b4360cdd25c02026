/**
 * docs/sieve-reference.md stays in step with the product: every command,
 * test and Sieve++ function the registries hold has an entry, every entry
 * names something real, and every example compiles (momentum dialect, with
 * the product's functions).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { productFunctions } from '../../src/policy/functions.js';
import { compileSieve, registryFor } from '../../src/sievepp/compile.js';

const doc = readFileSync(join(import.meta.dirname, '../../docs/sieve-reference.md'), 'utf8');
const documented = new Set([...doc.matchAll(/^### `([a-z_0-9]+)`/gm)].map((m) => m[1]!));
const functions = productFunctions();
const registry = registryFor(functions);
const known = new Set([...registry.commands.keys(), ...functions.list().map((f) => f.name)]);
const examples = [...doc.matchAll(/```sieve\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/sieve-reference.md', () => {
  it('has an entry for every command, test and function', () => {
    expect([...known].filter((n) => !documented.has(n))).toEqual([]);
  });

  it('documents nothing the product does not have', () => {
    expect([...documented].filter((n) => !known.has(n))).toEqual([]);
  });

  it('lists every capability a script may require', () => {
    for (const c of registry.capabilities()) expect(doc, c).toContain(c);
  });

  it.each(examples.map((e, i) => [i, e] as const))('example %i compiles', (_i, text) => {
    expect(compileSieve(text, { functions }).diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual([]);
  });
});
