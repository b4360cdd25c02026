/**
 * A script that reads a large part of a spooled message (docs/server.md,
 * "Messages on disk"): the message is loaded on the thread pool, a piece at
 * a time, while other sessions are answered; it is not read whole on the
 * event loop. The test holds the load's first read until another session
 * has been answered, so what is asserted is order, not speed: with a
 * synchronous read the heavy session would be answered first (or the held
 * read never reached). The loaded octets are exact: the test looks for a
 * marker at the very end of the part, and one in the middle.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

const gate = vi.hoisted(() => {
  const g = { reads: 0, syncReads: 0, opened: [] as string[], release: () => {}, held: undefined as Promise<void> | undefined };
  g.held = new Promise<void>((resolve) => (g.release = resolve));
  return g;
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fsp,
    // The message source loads with open(path, 'r'): its reads wait for the gate.
    open: async (...args: Parameters<typeof fsp.open>) => {
      const handle = await fsp.open(...args);
      if (args[1] !== 'r') return handle;
      gate.opened.push(String(args[0]));
      const read = handle.read.bind(handle) as (...a: unknown[]) => Promise<{ bytesRead: number; buffer: Buffer }>;
      return Object.assign(Object.create(handle) as typeof handle, {
        read: async (...a: unknown[]) => {
          gate.reads++;
          await gate.held;
          return read(...a);
        },
        close: () => handle.close(),
      });
    },
  };
});
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return { ...fs, readFileSync: (...args: Parameters<typeof fs.readFileSync>) => (gate.syncReads++, fs.readFileSync(...args)) };
});

const { policyCompileOptions } = await import('../../src/policy/compile-options.js');
const { SievePolicy } = await import('../../src/session/policy.js');
const { compileSieve } = await import('../../src/sievepp/compile.js');
const { openData, sendMail, startTestServer } = await import('../helpers/server-fixture.js');
type TestServer = Awaited<ReturnType<typeof startTestServer>>;

let server: TestServer | undefined;
afterEach(async () => {
  gate.release();
  await server?.close();
  server = undefined;
});

function policy(script: string) {
  const r = compileSieve(script, { file: 'data.siv', ...policyCompileOptions('data.siv', { phase: 'data' }) });
  if (!r.script) throw new Error(r.diagnostics.map((d) => d.message).join('; '));
  return new SievePolicy({ scripts: { data: { phase1: r.script } }, runtimeError: 'fail', limits: { maxCpuMs: 10_000 } });
}

/** Polls (no timing asserted) until `done`, or gives up after many turns. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('a script reading a large part of a spooled message', () => {
  it('lets another session be answered while the part is loaded, and reads it exactly', async () => {
    const script = 'require ["body", "reject"]; if allof (body :text :contains "MIDDLE-MARK", body :text :contains "LAST-MARK") { reject "found"; }';
    server = await startTestServer(policy(script), { maxMessageSize: 8 << 20, messageInMemoryLimit: 64 * 1024 });
    const line = 'plain text of a large part, line after line, to be read by a body test\r\n';
    const half = line.repeat((1 << 20) / line.length);
    const message = [
      'From: heavy@sender.test',
      'Subject: big',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      `${half}MIDDLE-MARK\r\n${half}LAST-MARK`,
      '--b--',
      '.',
    ].join('\r\n');
    const heavy = await openData(server);
    const answers: string[] = [];
    const heavyEnd = heavy.command(message).then((r) => {
      answers.push('heavy');
      return r;
    });
    // The script has asked for the part: the load's first read waits at the gate.
    await until(() => gate.reads > 0 || answers.length > 0);
    expect(answers).toEqual([]);
    expect(gate.reads).toBe(1);

    const normal = await sendMail(await server.client(), 'ann@sender.test', ['bob@here.test']);
    answers.push('normal');
    expect(normal.end?.code).toBe(250);
    gate.release();

    const end = await heavyEnd;
    expect(answers).toEqual(['normal', 'heavy']);
    // Both markers found: the part was read whole and in order, the last octets included.
    expect(end.code).toBe(550);
    // In pieces (docs/server.md: 1 MiB each), and never whole with a synchronous read.
    expect(gate.reads).toBeGreaterThan(1);
    expect(gate.syncReads).toBe(0);
  });

  it('adds a header field to a spooled message without reading it on the event loop', async () => {
    gate.release();
    server = await startTestServer(policy('ec_header_add "X-Policy" "seen";'), { maxMessageSize: 8 << 20, messageInMemoryLimit: 64 * 1024 });
    const body = 'a line of a message spooled to disk as it arrives\r\n'.repeat(10_000);
    gate.syncReads = 0;
    const sent = await sendMail(await server.client(), 'ann@sender.test', ['bob@here.test'], `From: a@b.test\r\nSubject: t\r\n\r\n${body}LAST-LINE\r\n`);
    expect(sent.end?.code).toBe(250);
    expect(gate.syncReads).toBe(0);
    const [stored] = await server.spooled();
    expect(stored!.message).toMatch(/^Received: [^]*\r\nX-Policy: seen\r\nFrom: a@b.test\r\n/);
    expect(stored!.message.endsWith(`${body}LAST-LINE\r\n`)).toBe(true);
  });

  it('reads the header fields of a message whose header section runs past 256 KiB on the thread pool', async () => {
    gate.release();
    server = await startTestServer(policy('require "reject"; if header :contains "subject" "needle" { reject "found"; }'), { maxMessageSize: 8 << 20, messageInMemoryLimit: 64 * 1024 });
    // One field folded over 300 KiB: the header section has no end within the part kept apart (HEAD_LIMIT).
    const filler = `X-Filler: start${'\r\n folded filler text of a very long header field'.repeat(6500)}`;
    gate.syncReads = 0;
    const sent = await sendMail(await server.client(), 'ann@sender.test', ['bob@here.test'], `From: a@b.test\r\n${filler}\r\nSubject: the needle\r\n\r\nbody\r\n`);
    expect(sent.end?.code).toBe(550);
    expect(gate.syncReads).toBe(0);
  });
});
