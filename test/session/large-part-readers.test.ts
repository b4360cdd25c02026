/**
 * Every test and action that reads a large part of a spooled message, or
 * the whole message, loads it first (MessageSource.load, on the thread
 * pool) instead of reading the file on the event loop (docs/server.md,
 * "Messages on disk"): no synchronous whole-file read happens, and each
 * reads what it reads from the same message held in memory. `body
 * :contains` (or `:matches` with texts between stars) over text taken as
 * it is (`:raw`, or a plain-text part), and `body :raw :regex` with short
 * matches, load nothing: they read the body as it comes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const counts = vi.hoisted(() => ({ readFileSync: 0, largeReadSync: 0 }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    readFileSync: (...args: Parameters<typeof fs.readFileSync>) => (counts.readFileSync++, fs.readFileSync(...args)),
    readSync: (...args: Parameters<typeof fs.readSync>) => {
      const n = fs.readSync(...args);
      if (n > 64 * 1024) counts.largeReadSync++;
      return n;
    },
  };
});

const { IncomingMessage } = await import('../../src/frontdoors/incoming-message.js');
const { bufferSource, sieveView } = await import('../../src/session/message-source.js');
const { execute } = await import('../../src/sieve/interpreter.js');
const { compileSieve } = await import('../../src/sievepp/compile.js');
const { policyCompileOptions } = await import('../../src/policy/compile-options.js');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-large-part-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const line = 'text of a large part, line after line, for the readers to find their marks\r\n';
const big = `${line.repeat(2000)}MIDDLE-MARK\r\n${line.repeat(2000)}LAST-MARK`;
const MESSAGE = Buffer.from(
  [
    'From: a@sender.test',
    'Subject: parts',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary=b',
    '',
    `preamble ${line.repeat(1500)}`,
    '--b',
    'Content-Type: text/plain',
    '',
    'small part',
    '--b',
    'Content-Type: text/plain',
    '',
    big,
    '--b',
    'Content-Type: application/octet-stream',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from(big).toString('base64').replace(/.{76}/g, '$&\r\n'),
    '--b--',
    `epilogue ${line.repeat(1500)}LAST-EPILOGUE`,
    '',
  ].join('\r\n'),
);

async function spooled() {
  const incoming = new IncomingMessage({ dir, inMemoryLimit: 0, memory: { reserve: () => true, release: () => {} } });
  incoming.write(MESSAGE);
  return incoming.finish();
}

const SCRIPTS: Record<string, string> = {
  'body :text': 'require "body"; if body :text :contains "LAST-MARK" { discard; }',
  'body :text, i;unicode-casemap': 'require ["body", "comparator-i;unicode-casemap"]; if body :text :comparator "i;unicode-casemap" :contains "last-mark" { discard; }',
  'body :content, a leaf': 'require "body"; if body :content "text/plain" :contains "MIDDLE-MARK" { discard; }',
  'body :content, a multipart': 'require "body"; if body :content "multipart" :contains "LAST-EPILOGUE" { discard; }',
  'body :raw': 'require ["body", "regex"]; if body :raw :regex "(?s)LAST.*EPILOGUE" { discard; }',
  'body :raw :regex, within lines': 'require ["body", "regex"]; if body :raw :regex "LAST.*EPILOGUE" { discard; }',
  'body :raw, a `?` and an end': 'require "body"; if body :raw :matches "*LAST?EPILOGUE??" { discard; }',
  'body :raw, texts in order': 'require "body"; if body :raw :matches "*MIDDLE-MARK*LAST*EPILOGUE*" { discard; }',
  'body :raw :regex, short matches': 'require ["body", "regex"]; if body :raw :regex "\\\\bLAST-EPI[L]OGUE\\\\b" { discard; }',
  'body :text :regex, short matches': 'require ["body", "regex"]; if body :text :regex "\\\\bLAST-M[A]RK\\\\b" { discard; }',
  'body :binary': 'require "body"; if body :binary "application/octet-stream" :contains "4c 41 53 54 2d 4d 41 52 4b" { discard; }',
  extracttext:
    'require ["foreverypart", "extracttext", "variables", "mime"]; foreverypart { if header :mime :contains "content-type" "text" { extracttext "t"; if string :matches "${t}" "text of a large part*" { discard; } } }',
  'replace in a part': 'require ["foreverypart", "replace", "mime"]; foreverypart { if header :mime :contains "content-type" "octet" { replace "gone"; } }',
  enclose: 'require "enclose"; enclose "see attached";',
  editheader: 'require "editheader"; addheader "X-Seen" "yes"; deleteheader "subject"; if header :is "x-seen" "yes" { discard; }',
};

/** The scripts that read the large part as it comes, without loading the message (docs/server.md, "Messages on disk"). */
const READ_AS_IT_COMES = new Set(['body :text', 'body :text, i;unicode-casemap', 'body :content, a leaf', 'body :raw, a `?` and an end', 'body :raw, texts in order', 'body :raw :regex, short matches', 'body :raw :regex, within lines', 'body :text :regex, short matches']);

async function run(script: string, source: Awaited<ReturnType<typeof spooled>>) {
  const r = compileSieve(script, { file: 'data.siv', ...policyCompileOptions('data.siv', { phase: 'data' }) });
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  const result = await execute(r.script!, { message: sieveView(source), envelope: { from: 'a@sender.test', to: ['b@here.test'] } }, {}, {});
  expect(result.errors.map((e) => e.message)).toEqual([]);
  // What the run read synchronously, before the check below reads the message itself.
  const reads = { ...counts };
  const loaded = source.loaded?.();
  return { reads, loaded, actions: result.actions.map((a) => a.def.type), message: result.runtime.message?.raw.length };
}

describe('readers of a large part of a spooled message', () => {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    it(`${name}: reads nothing synchronously, and finds what it finds in memory`, async () => {
      const inMemory = await run(script, bufferSource(MESSAGE));
      const source = await spooled();
      expect(source.path).toBeDefined();
      counts.readFileSync = counts.largeReadSync = 0;
      const fromFile = await run(script, source);
      expect(fromFile.reads).toEqual({ readFileSync: 0, largeReadSync: 0 });
      // :contains, or texts in order, over a part whose text is its body reads it as it comes; everything else loads the message.
      expect(fromFile.loaded).toBe(!READ_AS_IT_COMES.has(name));
      expect({ ...fromFile, reads: undefined, loaded: undefined }).toEqual({ ...inMemory, reads: undefined, loaded: undefined });
      // Each script finds what it looks for, or changes the message: a miss on both sides would prove nothing.
      expect(fromFile.actions.length > 0 && fromFile.actions.join() !== 'keep').toBe(true);
      await source.dispose();
    });
  }

  it('body :text :regex: a part with a line too long to cut into windows is loaded and matched whole', async () => {
    // 300 KiB of word characters: a `\\b` pattern's windows cannot be cut (windows-in-pieces.ts).
    const long = Buffer.from(['From: a@sender.test', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain', '', `${'x'.repeat(300 * 1024)} needle`, '--b--', ''].join('\r\n'));
    for (const [script, found] of [['require ["body", "regex"]; if body :text :regex "\\\\bneedle\\\\b" { discard; }', true], ['require ["body", "regex"]; if body :text :regex "\\\\bxneedle\\\\b" { discard; }', false]] as const) {
      const inMemory = await run(script, bufferSource(long));
      const incoming = new IncomingMessage({ dir, inMemoryLimit: 0, memory: { reserve: () => true, release: () => {} } });
      incoming.write(long);
      const source = await incoming.finish();
      const fromFile = await run(script, source);
      expect(fromFile.loaded).toBe(true);
      expect(fromFile.actions).toEqual(inMemory.actions);
      expect(fromFile.actions.includes('discard')).toBe(found);
      await source.dispose();
    }
  });

  it('body :raw :contains: reads the file as it comes, without loading the message', async () => {
    const script = 'require "body"; if body :raw :contains ["no such mark", "last-epilogue"] { discard; }';
    const inMemory = await run(script, bufferSource(MESSAGE));
    const source = await spooled();
    counts.readFileSync = counts.largeReadSync = 0;
    const fromFile = await run(script, source);
    expect(fromFile.reads).toEqual({ readFileSync: 0, largeReadSync: 0 });
    expect(fromFile.loaded).toBe(false);
    expect(fromFile.actions).toEqual(['discard']);
    expect(fromFile.actions).toEqual(inMemory.actions);
    await source.dispose();
  });
});
