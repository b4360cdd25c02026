/**
 * Compiling in turns of the event loop (compileSieveInSlices, what a
 * server's reload uses: docs/server.md, "SIGHUP"): the same result
 * as compileSieve, diagnostics and bound commands alike, also when a turn
 * ends between an if and its elsif; and other work runs between the turns.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { compileConfigScripts } from '../../src/policy/config-scripts.js';
import { describe, expect, it } from 'vitest';
import { buildScript } from '../../bench/sieve-script.js';
import { compileSieve, compileSieveInSlices } from '../../src/sievepp/compile.js';
import { parseSieve, parseSieveInSlices } from '../../grammars/sieve.js';
import { turnCounter } from '../helpers/turn-counter.js';
import type { Bound } from '../../src/sieve/registry.js';

/** What a bound tree is, without the definitions' code: the commands, their tests, chains and blocks. */
function shape(bs: Bound[] | null): unknown {
  return bs?.map((b) => ({ name: b.def.name, args: b.args.length, tags: [...b.tags.keys()], tests: shape(b.tests), chain: shape(b.chain ?? null), block: shape(b.block) }));
}


async function both(text: string, more: Partial<Parameters<typeof compileSieve>[1]> = {}) {
  const options = { file: 'x.siv', phase: 'data', ...more };
  const whole = compileSieve(text, options);
  const sliced = await compileSieveInSlices(text, { ...options, sliceMs: 0 });
  expect(sliced.diagnostics).toEqual(whole.diagnostics);
  expect(shape(sliced.script?.commands ?? null)).toEqual(shape(whole.script?.commands ?? null));
  expect(sliced.script?.capabilities).toEqual(whole.script?.capabilities);
  return sliced;
}

describe('compiling in slices', () => {
  it('gives what compileSieve gives, for the example policies and the benchmark script', async () => {
    for (const f of ['data.siv', 'mailfrom.siv', 'rcptto.siv']) expect((await both(await readFile(`examples/policy/${f}`, 'utf8'))).script).not.toBeNull();
    expect((await both(buildScript(64 * 1024))).script!.commands.length).toBeGreaterThan(100);
  });

  it('chains an elsif and else to their if across turns, and reports the same errors', async () => {
    const r = await both('require "fileinto";\nif true { keep; }\nelsif false { discard; }\nelse { fileinto "x"; }\nelse { stop; }\nnosuch;\nif header :nosuch "a" "b" { keep; }\n');
    expect(r.diagnostics.map((d) => d.line)).toEqual([5, 6, 7]);
    const ok = await both('if true { keep; }\nelsif false { discard; }\nelse { stop; }\n');
    expect(ok.script!.commands[0]!.chain!.map((b) => b.def.name)).toEqual(['elsif', 'else']);
  });

  it('lets other work run between the top-level rules', async () => {
    const text = buildScript(16 * 1024);
    const turns = turnCounter();
    const r = await compileSieveInSlices(text, { file: 'x.siv', phase: 'data', sliceMs: 0 });
    // A turn after the parse and one after every rule but the last.
    expect(turns.stop()).toBeGreaterThanOrEqual(r.script!.commands.length);
    const again = turnCounter();
    compileSieve(text, { file: 'x.siv', phase: 'data' });
    expect(again.stop()).toBe(0);
  });

  it('parses in turns too, whatever other parses run between them', async () => {
    const text = buildScript(256 * 1024);
    const other = buildScript(32 * 1024);
    const whole = JSON.stringify(parseSieve(text).script.commands);
    const turns = turnCounter();
    // Between the pieces of both, whole parses of other scripts (one with mistakes) use the same parser.
    let between = 0;
    const interleave = setInterval(() => {
      between++;
      parseSieve(other);
      parseSieve('if header :is "a" { keep; ]');
    }, 0);
    const [a, b] = await Promise.all([parseSieveInSlices(text, { sliceMs: 0 }), parseSieveInSlices(text, { sliceMs: 0, dialect: 'rfc' })]);
    clearInterval(interleave);
    // 2,048 tokens (about 14 KiB of this script) a piece, a turn after each.
    expect(turns.stop()).toBeGreaterThan(10);
    expect(between).toBeGreaterThan(0);
    expect(JSON.stringify(a.script.commands)).toBe(whole);
    expect(a.diagnostics).toEqual([]);
    // The benchmark script is Sieve++: the rfc dialect refuses it, and its messages come from one whole parse.
    expect(b.diagnostics).toEqual(parseSieve(text, { dialect: 'rfc' }).diagnostics);
  });

  /** The benchmark's script with every rule inside `if true { ... }`, nested `levels` deep: one top-level rule. */
  function wrapped(size: number, levels = 1, inside = ''): string {
    const text = buildScript(size);
    const nl = text.indexOf('\n');
    return `${text.slice(0, nl + 1)}${'if true {\n'.repeat(levels)}${text.slice(nl + 1)}${inside}\n${'}\n'.repeat(levels)}`;
  }

  it('parses and validates a policy wrapped in one block in turns too', async () => {
    for (const levels of [1, 3]) {
      const text = wrapped(128 * 1024, levels);
      const turns = turnCounter();
      const r = await compileSieveInSlices(text, { file: 'x.siv', phase: 'data', sliceMs: 0 });
      const seen = turns.stop();
      let block = r.script!.commands;
      for (let i = 0; i < levels; i++) block = block.at(-1)!.block!;
      expect(r.script!.commands).toHaveLength(2);
      // A turn after every rule of the block, as for the rules of a script.
      expect(seen).toBeGreaterThanOrEqual(block.length);
      expect(block.length).toBeGreaterThan(100);
      await both(text);
      expect(JSON.stringify((await parseSieveInSlices(text, { sliceMs: 0 })).script)).toBe(JSON.stringify(parseSieve(text).script));
    }
  });

  it('reports what compileSieve reports for mistakes inside a large block', async () => {
    const r = await both(wrapped(64 * 1024, 2, '\nnosuch;\nelse { keep; }\nif header :nosuch "a" "b" { keep; }\nnosuch;\n'));
    expect(r.script).toBeNull();
    expect(r.diagnostics.length).toBe(3);
    // Nesting past the limit inside a block parsed in pieces: the parse's message, from one whole parse.
    const deep = `${'if true {\nkeep;\nkeep;\n'.repeat(40)}${'}\n'.repeat(40)}`;
    const sliced = await parseSieveInSlices(deep, { sliceMs: 0, pieceTokens: 2 });
    expect(sliced.diagnostics).toEqual(parseSieve(deep).diagnostics);
    expect(sliced.diagnostics.map((d) => d.message)).toEqual([expect.stringContaining('cannot nest command blocks deeper than 32 levels')]);
  });

  it('parses and validates a rule with a large test list in turns too', async () => {
    const tests = Array.from({ length: 3000 }, (_, i) => `header :contains "subject" "spam word ${i}"`);
    const text = `require "fileinto";\nif anyof (${tests.join(', ')}) { fileinto "Junk"; }\nif not allof (true, ${tests.join(', ')}) { keep; }\n`;
    const turns = turnCounter();
    const r = await compileSieveInSlices(text, { file: 'x.siv', phase: 'data', sliceMs: 0 });
    const seen = turns.stop();
    expect(r.diagnostics).toEqual([]);
    expect(r.script!.commands[1]!.tests[0]!.tests).toHaveLength(3000);
    // Many turns in both rules' lists, where each rule took one turn to parse and one to validate.
    expect(seen).toBeGreaterThan(100);
    await both(text);
    expect(JSON.stringify((await parseSieveInSlices(text, { sliceMs: 0 })).script)).toBe(JSON.stringify(parseSieve(text).script));
    // The nesting limit counts from the list's own level: 30 `not`s under `anyof` reach level 32, the most there may be.
    for (const nots of [30, 31]) {
      const deep = `if anyof (${tests.slice(0, 20).join(', ')}, ${'not '.repeat(nots)}exists "a", ${tests.slice(0, 20).join(', ')}) { keep; }\n`;
      const sliced = await parseSieveInSlices(deep, { sliceMs: 0, pieceTokens: 4 });
      expect(sliced.diagnostics).toEqual(parseSieve(deep).diagnostics);
      expect(sliced.diagnostics.length).toBe(nots === 30 ? 0 : 1);
    }
  });

  it('compiles a large included script in turns too, with what compileSieve gives', async () => {
    const scripts = new Map([
      ['big', buildScript(128 * 1024)],
      ['small', 'require "include";\ninclude :once "big";\nkeep;\n'],
      ['loop', 'require "include";\ninclude "loop";\n'],
    ]);
    const loadScript = (name: string) => scripts.get(name) ?? null;
    const text = 'require "include";\ninclude "big";\ninclude "small";\nif true { include :optional "none"; }\n';
    const turns = turnCounter();
    const r = await compileSieveInSlices(text, { file: 'x.siv', phase: 'data', sliceMs: 0, loadScript });
    const seen = turns.stop();
    expect(r.diagnostics).toEqual([]);
    const big = compileSieve(scripts.get('big')!, { file: 'big', phase: 'data' });
    // A turn after every rule of the included script, as for the including one's.
    expect(seen).toBeGreaterThanOrEqual(big.script!.commands.length);
    expect(r.script!.facts).toEqual(compileSieve(text, { file: 'x.siv', phase: 'data', loadScript }).script!.facts);
    await both(text, { loadScript });
    // The limits and the errors of included scripts: the same messages, in the same order.
    await both('require "include";\ninclude "big";\ninclude "small";\ninclude "big";\ninclude "loop";\ninclude "none";\n', { loadScript, setting: (s: string) => (s === 'sieve_include_max_includes' ? '3' : undefined) });
    await both('require "include";\ninclude "small";\ninclude "loop";\n', { loadScript });
  });

  it('compiles the scripts included inside a small block in turns too, each once, with what compileSieve gives', async () => {
    const scripts = new Map([
      ['big', buildScript(128 * 1024)],
      ['small', 'require "include";\ninclude :once "big";\nkeep;\n'],
      ['other', 'require "include";\ninclude "big";\n'],
    ]);
    let loads = 0;
    const loadScript = (name: string) => (loads++, scripts.get(name) ?? null);
    const big = compileSieve(scripts.get('big')!, { file: 'big', phase: 'data' });
    for (const text of [
      'require "include";\nif true { include "small"; }\n',
      // Two in one block, one nested deeper: each compiled ahead with the count of includes it will find.
      'require "include";\nif true { include "small"; if false { include "other"; } }\n',
    ]) {
      loads = 0;
      compileSieve(text, { file: 'x.siv', phase: 'data', loadScript });
      const whole = loads;
      loads = 0;
      const turns = turnCounter();
      const r = await compileSieveInSlices(text, { file: 'x.siv', phase: 'data', sliceMs: 0, loadScript });
      const seen = turns.stop();
      expect(r.diagnostics).toEqual([]);
      // A turn after every rule of the included script: before, the whole include was compiled in the turn of the `if`.
      expect(seen, text).toBeGreaterThanOrEqual(big.script!.commands.length);
      // Each include loads its script twice, once to compile it ahead and once as it is validated, and no more:
      // an include compiled again in the `if`'s turn would load the scripts it includes again.
      expect(loads, text).toBe(2 * whole);
      await both(text, { loadScript });
    }
    // The limits and errors of includes in a block: the same messages, in the same order.
    await both('require "include";\nif true { include "big"; include "small"; include "big"; include "none"; }\n', { loadScript, setting: (s: string) => (s === 'sieve_include_max_includes' ? '3' : undefined) });
    await both('require "include";\nif true { include "small"; include :once "big"; include "small"; }\n', { loadScript });
  });

  it('is how a configuration\'s scripts are compiled (start-up and every reload)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-slices-'));
    try {
      const text = buildScript(16 * 1024);
      await writeFile(join(dir, 'data.siv'), text);
      await writeFile(join(dir, 'c.conf'), `spool_dir = "${dir}/spool"\nsieve "s" {\n  script "data_phase1" { source = "${dir}/data.siv" }\n}\n`);
      const { config } = await loadConfig(join(dir, 'c.conf'));
      const turns = turnCounter();
      const { scripts, diagnostics } = await compileConfigScripts(config!, 0);
      const seen = turns.stop();
      expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(seen).toBeGreaterThanOrEqual(scripts.data!.phase1!.commands.length);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
