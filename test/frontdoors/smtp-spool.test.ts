/**
 * Messages written to a spool file as they arrive (docs/server.md,
 * "Messages on disk"), over real sockets: a 10 MiB message lands in the
 * Maildir byte for byte; scripts read header fields and the body of a
 * spooled message as they read one in memory; the spool file is gone after
 * the answer; the memory budget sends large messages to disk rather than
 * refusing them, and refuses a script's whole read that does not fit.
 */
import { mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { emptyDecision } from '../../src/session/decide.js';
import type { Policy } from '../../src/session/policy.js';
import { startTestServer, type TestServerOptions } from '../helpers/server-fixture.js';
import { sievePolicy } from './fixture.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const acceptAll: Policy = { waitsForVerdict: () => false, run: async () => ({ decision: emptyDecision(), failed: false }) };

async function start(policy: Policy, overrides: TestServerOptions = {}) {
  const incoming = await mkdtemp(join(tmpdir(), 'smtp-cbv-incoming-'));
  const t = await startTestServer(policy, { maxMessageSize: 20 << 20, incomingDir: incoming, messageInMemoryLimit: 64 * 1024, ...overrides });
  cleanups.push(() => rm(incoming, { recursive: true, force: true }));
  cleanups.push(() => t.close());
  return { ...t, incoming };
}

/** A client that has been answered 354 to its DATA. */
async function inData(t: Awaited<ReturnType<typeof start>>) {
  const c = await t.client();
  await c.reply();
  await c.command('EHLO big.test');
  await c.command('MAIL FROM:<a@sender.test>');
  await c.command('RCPT TO:<bob@here.test>');
  expect((await c.command('DATA')).code).toBe(354);
  return c;
}

/** Sends one message; `wire` is already dot-stuffed. Returns the reply to the final dot. */
async function send(t: Awaited<ReturnType<typeof start>>, wire: string) {
  const c = await inData(t);
  const { text } = await c.command(`${wire}.`);
  // Closed once answered: a test sends many messages, each on a connection of its own, within the per-address limit.
  c.close();
  return text;
}

/** A message of about `size` octets whose lines vary, some starting with a dot, some with 8-bit text. */
function bigMessage(size: number): { message: string; wire: string } {
  const lines = ['From: a@sender.test', 'Subject: big one', 'Date: Mon, 1 Jan 2024 00:00:00 +0000', ''];
  let n = 0;
  let length = 0;
  while (length < size) {
    const line = n % 7 === 0 ? `.dot line ${n}` : n % 11 === 0 ? `grüße € ${n}` : `line ${n} ${'x'.repeat(n % 70)}`;
    lines.push(line);
    length += Buffer.byteLength(line) + 2;
    n++;
  }
  const message = `${lines.join('\r\n')}\r\n`;
  // RFC 5321 4.5.2: a line that starts with a dot gets one more.
  return { message, wire: message.replace(/^\./gm, '..') };
}

describe('messages spooled as they arrive', () => {
  it('stores a 10 MiB message byte for byte, and removes its spool file', async () => {
    const t = await start(acceptAll);
    const { message, wire } = bigMessage(10 << 20);
    expect(await send(t, wire)).toMatch(/^250 /);
    const [stored] = await t.spooled();
    const raw = await readFile(join(t.dir, 'spool', 'new', (await readdir(join(t.dir, 'spool', 'new')))[0]!));
    const body = raw.subarray(raw.indexOf('\r\nFrom: a@sender.test') + 2);
    expect(stored!.message.startsWith('Received: ')).toBe(true);
    expect(body.equals(Buffer.from(message))).toBe(true);
    expect(await readdir(t.incoming)).toEqual([]);
  });

  it('lets scripts test header fields, the body and the size of a spooled message', async () => {
    const policy = sievePolicy({
      data: 'require ["body", "reject"]; if allof (header :contains "subject" "big", body :raw :contains "line 10000 ", size :over 1M) { reject "seen"; }',
    });
    const t = await start(policy);
    expect(await send(t, bigMessage(2 << 20).wire)).toMatch(/^550 .*seen/);
    // The same script on a message small enough to stay in memory, without the body line: accepted.
    expect(await send(t, 'Subject: big\r\n\r\nline 1\r\n')).toMatch(/^250 /);
    expect(await readdir(t.incoming)).toEqual([]);
  });

  it('ends a transfer that keeps sending past data_timeout with 451, and removes its spool file', async () => {
    // data_timeout bounds the whole transfer, from the 354 to the final dot, not the wait between two chunks.
    const t = await start(acceptAll, { dataTimeoutMs: 600 });
    const c = await inData(t);
    c.write('Subject: steady\r\n\r\n');
    const line = `${'s'.repeat(998)}\r\n`.repeat(100);
    const steady = setInterval(() => c.write(line), 50);
    try {
      expect((await c.reply()).text).toBe('451 4.4.2 Message transfer took too long');
    } finally {
      clearInterval(steady);
    }
    await c.waitClosed();
    expect(await readdir(t.incoming)).toEqual([]);
    expect(await t.spooled()).toEqual([]);
  });

  it('removes the spool file of a client that goes away in mid-transfer at once, not at data_timeout', async () => {
    const t = await start(acceptAll);
    const c = await inData(t);
    c.write(`Subject: gone\r\n\r\n${`${'g'.repeat(998)}\r\n`.repeat(500)}`);
    while ((await readdir(t.incoming)).length === 0) await new Promise((r) => setTimeout(r, 10));
    c.close();
    while ((await readdir(t.incoming)).length) await new Promise((r) => setTimeout(r, 10));
    expect(await t.spooled()).toEqual([]);
  });

  it('sends a message past the memory budget to disk instead of refusing it', async () => {
    const t = await start(acceptAll, { maxMessageMemory: 1 << 20 });
    const { message, wire } = bigMessage(3 << 20);
    expect(await send(t, wire)).toMatch(/^250 /);
    const [stored] = await t.spooled();
    expect(stored!.message.endsWith(message)).toBe(true);
  });

  it('answers 452 4.3.1 when a script needs a spooled message whole and the budget has no room', async () => {
    // A :regex whose matches have no bound across lines needs the body whole (a :contains, a :matches, or a :regex of
    // short matches or within lines, reads it as it comes: below).
    const policy = sievePolicy({ data: 'require ["body", "reject", "regex"]; if body :raw :regex "(?s)nothing.*like this" { reject "no"; }' });
    const t = await start(policy, { maxMessageMemory: 1 << 20 });
    expect(await send(t, bigMessage(2 << 20).wire)).toBe('452 4.3.1 Insufficient system storage, try again later');
    expect(await t.spooled()).toEqual([]);
    // A header-only script on the same message needs no room: accepted.
    t.setPolicy(sievePolicy({ data: 'require "reject"; if header :contains "subject" "nothing" { reject "no"; }' }));
    expect(await send(t, bigMessage(2 << 20).wire)).toMatch(/^250 /);
    expect(await readdir(t.incoming)).toEqual([]);
  });

  it('scans a spooled body with :contains as it reads it: no room in the budget needed', async () => {
    // The budget (1 MiB) is smaller than the message: read whole, it would get 452 (above).
    const t = await start(sievePolicy({ data: 'require ["body", "reject"]; if body :raw :contains ["nothing like this", "line 12345 z"] { reject "seen"; }' }), { maxMessageMemory: 1 << 20 });
    const { message, wire } = bigMessage(2 << 20);
    expect(await send(t, wire)).toMatch(/^250 /);
    const [stored] = await t.spooled();
    expect(stored!.message.endsWith(message)).toBe(true);
    // A key written across two reads of the file (64 KiB each), found without case (i;ascii-casemap).
    const marked = withLineAt(30 * 65_536 - 8, 'Nothing Like This', 2 << 20);
    expect(await send(t, marked)).toBe('550 5.7.1 seen');
    // A key across a line end, at the very end of the body.
    const [before, last] = message.split('\r\n').slice(-3, -1);
    t.setPolicy(sievePolicy({ data: `require ["body", "reject"]; if body :raw :contains "${before}\r\n${last}\r\n" { reject "seen"; }` }));
    expect(await send(t, wire)).toBe('550 5.7.1 seen');
    // So does `body :contains` (:text) on a message of one part of plain text, and :matches "*text*".
    t.setPolicy(sievePolicy({ data: 'require ["body", "reject"]; if body :contains "nothing like this" { reject "seen"; }' }));
    expect(await send(t, wire)).toMatch(/^250 /);
    expect(await send(t, marked)).toBe('550 5.7.1 seen');
    t.setPolicy(sievePolicy({ data: 'require ["body", "reject"]; if body :matches "*nothing like this*" { reject "seen"; }' }));
    expect(await send(t, wire)).toMatch(/^250 /);
    expect(await send(t, marked)).toBe('550 5.7.1 seen');
    // And :matches with stars inside its keys (texts in order), :raw or not: the two texts here lie a MiB apart.
    const twice = `${withLineAt(20 * 65_536, 'Nothing Like', 2 << 20)}then THIS\r\n`;
    for (const raw of [':raw ', '']) {
      t.setPolicy(sievePolicy({ data: `require ["body", "reject"]; if body ${raw}:matches ["*no such*thing*", "*nothing like*then this*"] { reject "seen"; }` }));
      expect(await send(t, wire)).toMatch(/^250 /);
      expect(await send(t, twice)).toBe('550 5.7.1 seen');
      // In the other order they are not there.
      t.setPolicy(sievePolicy({ data: `require ["body", "reject"]; if body ${raw}:matches "*then this*nothing like*" { reject "seen"; }` }));
      expect(await send(t, twice)).toMatch(/^250 /);
    }
    // A start, then texts, as Momentum's `body :raw :matches "The * bad * test*"`: the body begins ".dot line 0".
    t.setPolicy(sievePolicy({ data: 'require ["body", "reject"]; if body :raw :matches ".DOT line 0*grüße €*line 12345 *" { reject "seen"; }' }));
    expect(await send(t, wire)).toBe('550 5.7.1 seen');
    t.setPolicy(sievePolicy({ data: 'require ["body", "reject"]; if body :raw :matches "line 0*line 12345 *" { reject "seen"; }' }));
    expect(await send(t, wire)).toMatch(/^250 /);
    // :raw :regex whose matches are short: matched in windows of the body as it is read, across line and word
    // edges (RE2's multi-line `$` is before a "\n": after the "\r" of a CRLF).
    // Matches of no bound (`.*`, `x+`, `\s+` across a line break) are matched in windows that begin far enough back.
    for (const [regex, seen] of [['(?m)^line 12345 x{25}\\\\r$', true], ['(?m)^line 12345 x{26}', false], ['\\\\bGR..E € 55\\\\b', true], ['\\\\brüße', false], ['line 1234. x+\\\\r', true], ['line 0.*line 12345', false], ['x\\\\s+line 12346 x', true], ['x\\\\s+line 12346 y', false]] as const) {
      t.setPolicy(sievePolicy({ data: `require ["body", "reject", "regex"]; if body :raw :regex "${regex}" { reject "seen"; }` }));
      if (seen) expect(await send(t, wire)).toBe('550 5.7.1 seen');
      else expect(await send(t, wire)).toMatch(/^250 /);
    }
    expect(await readdir(t.incoming)).toEqual([]);
  });

  it('scans a spooled body with :matches keys holding `?` or ending in text as it reads it', async () => {
    // The budget (1 MiB) is smaller than the message: read whole, it would get 452.
    const t = await start(acceptAll, { maxMessageMemory: 1 << 20 });
    const { wire } = bigMessage(2 << 20);
    const twice = `${withLineAt(20 * 65_536, 'Nothing Like', 2 << 20)}then THIS\r\n`;
    // A `?` (one character: "ü" is two octets, one character) and an end: the body ends with the line "then THIS".
    for (const [key, seen] of [['*nothing?like*then?this\r\n', true], ['*nothing?like*then?this', false], ['*gr??e € 7*', true], ['*gr???e € 7*', false], ['*nothing like*th?s\r\n', true]] as const) {
      t.setPolicy(sievePolicy({ data: `require ["body", "reject"]; if body :raw :matches "${key}" { reject "seen"; }` }));
      const reply = await send(t, key.startsWith('*gr') ? wire : twice);
      if (seen) expect(reply).toBe('550 5.7.1 seen');
      else expect(reply).toMatch(/^250 /);
    }
    expect(await readdir(t.incoming)).toEqual([]);
  });

  it('reduces a large HTML part to its text as it reads it for body :text', async () => {
    // The budget (1 MiB) is smaller than the message: reduced whole, it would get 452.
    const t = await start(acceptAll, { maxMessageMemory: 1 << 20 });
    const row = '<tr><td class="c">cell &amp; more</td></tr>\r\n';
    const html = (middle: string) => `From: a@sender.test\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p { content: "Hidden Text"; }</style></head><body>\r\n${row.repeat(25_000)}${middle}${row.repeat(25_000)}</body></html>\r\n`;
    const marked = html('<p>Buy <b>cheap</b> &quot;pills&quot; now</p>\r\n');
    for (const [key, seen] of [['buy cheap "pills" now', true], ['cell & more', true], ['<b>', false], ['hidden text', false], ['&amp;', false]] as const) {
      t.setPolicy(sievePolicy({ data: `require ["body", "reject"]; if body :text :contains "${key.replace(/"/g, '\\"')}" { reject "seen"; }` }));
      const reply = await send(t, marked);
      if (seen) expect(reply).toBe('550 5.7.1 seen');
      else expect(reply).toMatch(/^250 /);
    }
    // A :regex of short matches (the default transform, :text) reads the part in windows of its text.
    for (const [regex, seen] of [['\\\\bbuy [a-z]{5} .pills.', true], ['\\\\bbuy [a-z]{6} ', false], ['<b>', false]] as const) {
      t.setPolicy(sievePolicy({ data: `require ["body", "reject", "regex"]; if body :regex "${regex}" { reject "seen"; }` }));
      const reply = await send(t, marked);
      if (seen) expect(reply).toBe('550 5.7.1 seen');
      else expect(reply).toMatch(/^250 /);
    }
    expect(await readdir(t.incoming)).toEqual([]);
  });

  it('a client that leaves while its body is scanned as it comes: the file is removed and closed, the next client is served', async () => {
    // Room for the write buffers of the transfers the server may still be ending (320 KiB each) besides the last one's.
    const t = await start(sievePolicy({ data: 'require ["body", "reject"]; if body :contains ["k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8"] { reject "seen"; }' }), { maxMessageMemory: 4 << 20 });
    const { wire } = bigMessage(8 << 20);
    for (let i = 0; i < 3; i++) {
      const c = await inData(t);
      c.write(`${wire}.\r\n`);
      // The scan of 8 MiB takes tens of milliseconds: leave while it runs.
      await new Promise((r) => setTimeout(r, 5));
      c.close();
    }
    while ((await readdir(t.incoming)).length) await new Promise((r) => setTimeout(r, 10));
    expect(await send(t, wire)).toMatch(/^250 /);
    // Each scan closes its file once it ends, the file removed meanwhile (a descriptor keeps a removed file readable).
    for (let i = 0; i < 100 && (await openFilesUnder(t.incoming)).length; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await openFilesUnder(t.incoming)).toEqual([]);
  });
});

/** The files under `dir` this process has open (Linux: /proc/self/fd), removed ones too. */
async function openFilesUnder(dir: string): Promise<string[]> {
  const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t.startsWith(dir));
}

/** An ASCII message of `size` octets with `line` starting at octet `at`, filler lines around it. */
function withLineAt(at: number, line: string, size: number): string {
  const head = 'From: a@sender.test\r\nSubject: marked\r\n\r\n';
  const filler = (octets: number) => {
    const full = `${'y'.repeat(78)}\r\n`.repeat(Math.floor(octets / 80));
    const rest = octets % 80;
    return rest === 0 ? full : rest === 1 ? `${full.slice(0, -2)}y\r\n` : `${full}${'y'.repeat(rest - 2)}\r\n`;
  };
  const start = `${head}${filler(at - head.length)}${line}\r\n`;
  return `${start}${filler(size - start.length)}`;
}
