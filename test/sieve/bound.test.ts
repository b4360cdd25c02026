/**
 * Bound nodes share what they have none of (src/sieve/bound.ts): a tagless
 * command's tags, a test's missing tests. What one node gets must never
 * reach another, and a tag's position is still its own.
 */
import { describe, expect, it } from 'vitest';
import { compileSieve } from '../../src/sievepp/compile.js';
import type { Bound } from '../../src/sieve/registry.js';

const compiled = (text: string): Bound[] => {
  const r = compileSieve(text, { file: 'x.siv', dialect: 'rfc' });
  expect(r.diagnostics).toEqual([]);
  return r.script!.commands;
};

describe('bound nodes', () => {
  it('keep their own tags and tests, and none of another node', () => {
    const text = 'require ["fileinto", "copy"];\nkeep;\nif allof (true, header :contains "subject" "x") {\n  fileinto :copy "a";\n}\nkeep;\n';
    const [, keep1, ifc, keep2] = compiled(text);
    expect([keep1!.tags.size, keep2!.tags.size, ifc!.tags.size]).toEqual([0, 0, 0]);
    const fileinto = ifc!.block![0]!;
    expect([...fileinto.tags.keys()]).toEqual(['copy']);
    // A tag's position is made when asked, and is the tag's.
    expect(fileinto.tags.get('copy')!.pos).toMatchObject({ line: 4, column: 12 });
    const allof = ifc!.tests[0]!;
    expect(allof.tests.map((t) => t.def.name)).toEqual(['true', 'header']);
    expect(allof.tests[1]!.tags.has('contains')).toBe(true);
    expect([keep1!.tests.length, allof.tests[0]!.tests.length, allof.tests[1]!.tests.length]).toEqual([0, 0, 0]);
    // A later compile's tags reach none of these.
    compiled('require ["fileinto", "copy"];\nfileinto :copy "b";\nkeep;\n');
    expect([keep1!.tags.size, keep2!.tags.size]).toEqual([0, 0]);
  });

  it('refuse to add a tag to the map every tagless node shares', () => {
    const [keep] = compiled('keep;\n');
    expect(() => keep!.tags.set('copy', { pos: { line: 1, column: 1, offset: 0 }, args: [] })).toThrow(/shares this map/);
    expect(() => keep!.tests.push(keep!)).toThrow(TypeError);
  });
});
