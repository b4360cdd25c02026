/** The interpreter's contract: phases without a message, asynchronous hosts, values not exceptions. */
import { describe, expect, it } from 'vitest';
import { compileSieve } from '../../src/sievepp/compile.js';
import { execute, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import { errorsOf, run } from './helpers.js';

describe('interpreter', () => {
  it('runs synchronously when nothing awaits', () => {
    const script = compileSieve('if header :contains "subject" "x" { discard; }').script!;
    const r = execute(script, { message: null, envelope: { from: '', to: [] } });
    expect(r instanceof Promise).toBe(false);
  });

  it('awaits a host that answers asynchronously', async () => {
    const host = { mailboxExists: async (name: string) => name === 'Spam' };
    const r = await run('require ["mailbox", "fileinto"]; if mailboxexists "Spam" { fileinto "Spam"; } if mailboxexists "Nope" { discard; }', { host });
    expect(r.actions.map((a) => `${a.type}:${a.target ?? ''}`)).toEqual(['store:Spam']);
  });

  it('refuses tests that need a message in a phase without one', () => {
    const errs = errorsOf('if header :is "subject" "x" { discard; }', { hasMessage: false });
    expect(errs[0]).toMatch(/needs a message/);
    expect(errorsOf('if true { discard; }', { hasMessage: false })).toEqual([]);
  });

  it('reports a runtime failure as a value with a position', async () => {
    const r = await run('require "ihave";\n\nerror "broken";');
    expect(r.errors).toEqual([{ message: 'broken', pos: expect.objectContaining({ line: 3, column: 1 }) }]);
  });

  it('positions validation errors', () => {
    const d = compileSieve('keep;\nif header :frop "a" "b" {}').diagnostics[0]!;
    expect([d.line, d.column]).toEqual([2, 11]);
    expect(d.message).toBe("unknown tagged argument ':frop' for the header test (reported only once at first occurrence)");
  });

  it('keeps variables per included script and shares globals', async () => {
    const scripts: Record<string, string> = { inc: 'require ["include", "variables"]; global "g"; set "g" "${g}+inc"; set "local" "inner";' };
    const host = { loadScript: (name: string) => scripts[name] ?? null };
    const r = await run('require ["include", "variables"]; global "g"; set "g" "main"; set "local" "outer"; include "inc";', { host });
    expect(r.errors).toEqual([]);
    expect(r.runtime.globals.get('g')).toBe('main+inc');
    expect(r.runtime.variable('local', undefined)).toBe('outer');
  });
});

describe('compiled once, run many times', () => {
  const script = compileSieve(`require ["variables", "envelope", "fileinto"];
    if header :contains "subject" "offer" { fileinto "Ads"; }
    elsif address :domain :is "from" "Example.NET" { fileinto "Net"; }
    elsif envelope :matches "from" "*@*.example" { set "d" "\${2}"; fileinto "\${d}"; }`).script!;
  const targets = (text: string, from: string) =>
    (execute(script, { message: parseMessage(text), envelope: { from, to: ['x@y.example'] } }) as ExecutionResult).actions.map((a) => a.target);

  it('answers each run for its own message and envelope', () => {
    expect(targets('Subject: Special OFFER\n\n', 'a@b.example')).toEqual(['Ads']);
    expect(targets('From: a@example.net\nSubject: hi\n\n', 'a@b.example')).toEqual(['Net']);
    expect(targets('Subject: hi\n\n', 'a@c.example')).toEqual(['c']);
    expect(targets('Subject: Special OFFER\n\n', 'a@b.example')).toEqual(['Ads']);
  });

  it('reads a header again after the run changed it', async () => {
    const r = await run('require ["editheader", "variables"]; if header :is "x-a" "1" { set "before" "1"; } addheader "X-A" "1"; if header :is "x-a" "1" { set "after" "1"; }');
    expect([r.runtime.variable('before', undefined), r.runtime.variable('after', undefined)]).toEqual(['', '1']);
  });
});

describe('executeSequence (SMTP phases, Pigeonhole multiscript)', () => {
  it('runs the next script only while the message is kept, sharing result and message', async () => {
    const { executeSequence } = await import('../../src/sieve/interpreter.js');
    const { parseMessage } = await import('../../src/sieve/runtime/message.js');
    const c = (s: string) => compileSieve(s).script!;
    const first = c('require "editheader"; addheader "X-Phase" "one";');
    const second = c('require ["fileinto"]; if header :is "x-phase" "one" { fileinto "Seen"; }');
    const third = c('discard;');
    const ctx = { message: parseMessage('Subject: s\n\nb\n'), envelope: { from: 'a@b.example', to: ['c@d.example'] } };
    const r = await executeSequence([first, second, third], ctx);
    expect(r.ran).toBe(2);
    expect(r.actions.map((a) => `${a.type}:${a.target}`)).toEqual(['store:Seen']);
  });
});
