/**
 * `smtp-cbv run`: one dry run from the command line, sieve-test layout,
 * stubs from flags, --trace, and the exit status.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

const root = join(import.meta.dirname, '../..');
const rcptto = join(root, 'examples/policy/rcptto.siv');

async function run(...args: string[]) {
  const io = bufferIO();
  const code = await main(['run', ...args], io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('smtp-cbv run', () => {
  it('prints the performed actions, the implicit keep and the SMTP reply of the phase', async () => {
    const r = await run(rcptto, '--phase', 'rcptto', '--cbv-phase', 'mailfrom', '--from', 'ghost@sender.example', '--to', 'bob@here.example', '--cbv', 'ghost@sender.example=fail:550 5.1.1 no such user');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Performed actions:\n\n * ec_action 550 "5.7.1 Sender address rejected: verification failed (rejected)"');
    expect(r.out).toContain('Implicit keep:\n\n  (none)');
    expect(r.out).toContain('SMTP reply:\n\n  550 5.7.1 Sender address rejected: verification failed (rejected)');
  });

  it("words standard actions as Pigeonhole's sieve-test does: IMAP flags, :copy, <address>, the bare reject reason", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'run-'));
    const store = join(dir, 'store.siv');
    await writeFile(store, 'require ["fileinto", "imap4flags", "copy"];\nfileinto :flags ["\\\\Seen", "$Label1"] "Lists";\nredirect :copy "boss@else.example";\n');
    const msg = join(dir, 'm.eml');
    await writeFile(msg, 'From: a@sender.example\nSubject: s\n\nbody\n');
    const r = await run(store, '--phase', 'data', '--from', 'a@sender.example', '--to', 'bob@here.example', '--message', msg);
    expect(r.out).toContain(
      'Performed actions:\n\n * store message in folder: Lists\n        + add IMAP flags: \\seen $Label1\n * redirect message to: <boss@else.example>\n        + preserve implicit keep\n',
    );
    const reject = join(dir, 'reject.siv');
    await writeFile(reject, 'require "reject";\nreject "not today";\n');
    const rr = await run(reject, '--phase', 'data', '--from', 'a@sender.example', '--to', 'bob@here.example', '--message', msg);
    expect(rr.out).toContain(' * reject message with reason: not today\n');
  });

  it('--trace shows each command and test with its line and result', async () => {
    const r = await run(rcptto, '--phase', 'rcptto', '--cbv-phase', 'mailfrom', '--from', 'a@sender.example', '--to', 'bob@here.example', '--cbv', 'default=pass', '--trace');
    expect(r.out).toMatch(/rcptto\.siv:12:1: if\n/);
    expect(r.out).toMatch(/rcptto\.siv:12:4: test vctx_mess => false\n/);
    expect(r.out).toContain('Implicit keep:\n\n * accept');
    expect(r.out).toContain('SMTP reply:\n\n  250 2.1.5 Accepted');
  });

  it('runs a whole configuration phase by phase, with a message at DATA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'run-'));
    const msg = join(dir, 'm.eml');
    await writeFile(msg, 'Subject: no origin\n\nbody\n');
    const r = await run('--config', join(root, 'examples/smtp-cbv.conf'), '--from', 'a@sender.example', '--to', 'bob@here.example', '--message', msg, '--cbv', 'default=pass');
    expect(r.out.match(/^## \w+/gm)).toEqual(['## connect', '## ehlo', '## mailfrom', '## rcptto', '## data']);
    expect(r.out).toContain('CBV calls:\n\n * a@sender.example (module): pass');
    expect(r.out).toMatch(/SMTP reply:\n\n {2}550 5\.7\.1 message lacks a From or Date header field/);
  });

  it('exits 1 and names the call when a CBV call has no stub', async () => {
    const r = await run('--config', join(root, 'examples/smtp-cbv.conf'), '--phase', 'mailfrom', '--from', 'a@sender.example', '--to', 'bob@here.example');
    expect(r.code).toBe(1);
    expect(r.out).toContain('smtp_callback_verify "a@sender.example": no CBV stub for this address (add one under cbv:)');
  });

  it('refuses a script without --phase, and a bad --cbv', async () => {
    expect((await run(rcptto, '--from', 'a@b.example')).code).toBe(64);
    expect((await run(rcptto, '--phase', 'rcptto', '--cbv', 'a@b.example=maybe')).code).toBe(64);
  });
});
