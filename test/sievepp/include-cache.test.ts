/**
 * ec_include fetches its script at every call but compiles a text it has
 * compiled lately only once (src/sievepp/functions/include.ts).
 */
import { describe, expect, it } from 'vitest';
import { execute } from '../../src/sieve/interpreter.js';
import { compileSieve } from '../../src/sievepp/compile.js';
import { compiledInclude, type IncludeData, newIncludeCache } from '../../src/sievepp/functions/include.js';
import type { MomentumHost } from '../../src/sievepp/host.js';
import { compiledPP } from './helpers.js';

function counting(): IncludeData & { calls: string[] } {
  const calls: string[] = [];
  return { calls, compiled: newIncludeCache(), compile: (text, options) => (calls.push(`${options.file}: ${text}`), compileSieve(text, options)) };
}

describe('ec_include’s compiled scripts', () => {
  it('compiles a text once, a changed text again, and the same text from another name again', () => {
    const data = counting();
    const first = compiledInclude(data, 'a.siv', 'keep;');
    expect(compiledInclude(data, 'a.siv', 'keep;')).toBe(first);
    compiledInclude(data, 'a.siv', 'discard;');
    compiledInclude(data, 'b.siv', 'discard;');
    expect(data.calls).toEqual(['a.siv: keep;', 'a.siv: discard;', 'b.siv: discard;']);
  });

  it('keeps the 64 texts used last', () => {
    const data = counting();
    for (let i = 0; i < 65; i++) compiledInclude(data, 'x.siv', `# ${i}\nkeep;`);
    compiledInclude(data, 'x.siv', '# 64\nkeep;');
    expect(data.calls).toHaveLength(65);
    compiledInclude(data, 'x.siv', '# 0\nkeep;');
    expect(data.calls).toHaveLength(66);
    expect(data.compiled.size).toBe(64);
  });

  it('runs what the file holds now at every call, compiled or not', async () => {
    const script = compiledPP('ec_include "policy.siv";');
    let text = 'ec_action 550 "first";';
    const host: MomentumHost = { loadInclude: async () => text };
    const run = async () => (await execute(script, { message: null, envelope: { from: 'a@b.test', to: ['c@d.test'] } }, host)).actions.map((a) => a.data);
    const first = await run();
    expect(await run()).toEqual(first);
    text = 'ec_action 451 "second";';
    const second = await run();
    expect(second).not.toEqual(first);
    expect(JSON.stringify(second)).toContain('second');
  });
});
