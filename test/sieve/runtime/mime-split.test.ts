/**
 * The MIME part tree as mailsplit finds it (src/sieve/runtime/mime-split.ts),
 * with the adapter's choices (src/sieve/runtime/mailsplit-adapter.ts) where
 * mailsplit differs from what Sieve needs (RFC 5173, RFC 5703): each case
 * below fails if a mailsplit update changes the internals the adapter
 * relies on.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parseMessage } from '../../../src/sieve/runtime/message.js';
import { type MimePart, readMimeTree, walkParts } from '../../../src/sieve/runtime/mime.js';
import { hostOctets, textOctets } from '../../../src/sieve/runtime/octets.js';
import { splitMime } from '../../../src/sieve/runtime/mime-split.js';
import { CpuBudget } from '../../../src/sieve/runtime/cpu-budget.js';
import { SieveRuntimeFailure } from '../../../src/sieve/runtime/signals.js';
import { turnCounter } from '../../helpers/turn-counter.js';

const tree = (lines: string[]) => readMimeTree(parseMessage(lines.join('\r\n')));
const shape = (p: MimePart): unknown => ({ type: p.type, body: p.body, children: p.children.map(shape), ...(p.embedded ? { embedded: shape(p.embedded.root) } : {}) });

describe('the MIME tree from mailsplit', () => {
  it('reads parts, nested multiparts, preamble and epilogue, bodies without the CRLF before a delimiter', async () => {
    const t = await tree([
      'Content-Type: multipart/mixed; boundary=outer',
      '',
      'pre',
      '--outer',
      'Content-Type: text/plain',
      '',
      'hello',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      '',
      'a',
      '--inner--',
      'inner epilogue',
      '--outer--',
      'post',
      '',
    ]);
    expect(t.preamble).toBe('pre');
    expect(t.epilogue).toBe('post\r\n');
    expect(shape(t)).toEqual({
      type: 'multipart/mixed',
      body: expect.any(String),
      children: [
        { type: 'text/plain', body: 'hello', children: [] },
        { type: 'multipart/alternative', body: '--inner\r\n\r\na\r\n--inner--\r\ninner epilogue', children: [{ type: 'text/plain', body: 'a', children: [] }] },
      ],
    });
    // The outer closing delimiter is not the inner part's epilogue.
    expect(t.children[1]!.epilogue).toBe('inner epilogue');
  });

  it('opens an attached, or even base64-labelled, message/rfc822 (RFC 5173 5), and a digest part without Content-Type (RFC 2046 5.1.5)', async () => {
    const t = await tree([
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: message/rfc822',
      'Content-Disposition: attachment; filename=m.eml',
      'Content-Transfer-Encoding: base64',
      '',
      'Subject: inner',
      '',
      'inner body',
      '--b',
      'Content-Type: multipart/digest; boundary=d',
      '',
      '--d',
      '',
      'Subject: digested',
      '',
      'digest body',
      '--d--',
      '--b--',
      '',
    ]);
    const [attached, digest] = t.children;
    expect(attached!.embedded?.header).toBe('Subject: inner\r\n');
    expect(attached!.embedded?.root.body).toBe('inner body');
    expect(digest!.children[0]!.type).toBe('message/rfc822');
    expect(digest!.children[0]!.embedded?.root.headers.map((h) => h.raw)).toEqual(['Subject: digested']);
    expect(digest!.children[0]!.embedded?.root.body).toBe('digest body');
  });

  it('reads a header section seen before by its place: the same section is text in a mixed multipart and a message in a digest', async () => {
    const t = await tree([
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'X-Same: 1',
      '',
      'plain text',
      '--b',
      'Content-Type: multipart/digest; boundary=d',
      '',
      '--d',
      'X-Same: 1',
      '',
      'Subject: digested',
      '',
      'digest body',
      '--d--',
      '--b',
      'X-Same: 1',
      '',
      'plain again',
      '--b--',
      '',
    ]);
    expect(t.children.map((c) => c.type)).toEqual(['text/plain', 'multipart/digest', 'text/plain']);
    expect(t.children[1]!.children[0]!.type).toBe('message/rfc822');
    expect(t.children[1]!.children[0]!.embedded?.root.body).toBe('digest body');
    expect(t.children[2]!.body).toBe('plain again');
  });

  it('keeps a part that has only a header section, or nothing, before the next delimiter', async () => {
    const t = await tree(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/html', '--b', '--b', 'X-A: 1', '--b--', '']);
    expect(t.children.map((c) => [c.type, c.headers.map((h) => h.raw), c.body])).toEqual([
      ['text/html', ['Content-Type: text/html'], ''],
      ['text/plain', [], ''],
      ['text/plain', ['X-A: 1'], ''],
    ]);
  });

  it('ends a multipart at a closing delimiter before its first part: the rest is epilogue (RFC 2046 5.1.1)', async () => {
    const t = await tree(['Content-Type: multipart/mixed; boundary=b', '', 'pre', '--b--', '--b', '', 'not a part', '']);
    expect(t.children).toEqual([]);
    expect([t.preamble, t.epilogue]).toEqual(['pre', '--b\r\n\r\nnot a part\r\n']);
  });

  it('gives a nested multipart that reuses its parent boundary the delimiters, innermost first (as Dovecot does)', async () => {
    const t = await tree(['Content-Type: multipart/mixed; boundary=a', '', '--a', 'Content-Type: multipart/mixed; boundary=a', '', '--a', '', 'x', '--a--', '']);
    expect(t.children).toHaveLength(1);
    expect(t.children[0]!.children.map((c) => c.body)).toEqual(['x']);
  });

  it('reads non-ASCII text and parts at any chunk boundary', async () => {
    const text = 'ü😀é'.repeat(3000);
    const t = await tree(['Content-Type: multipart/mixed; boundary=b', '', '--b', 'Content-Type: text/plain; charset=utf-8', '', text, '--b', '', `${text}x`, '--b--', '']);
    expect(t.children.map((c) => c.body)).toEqual([text, `${text}x`]);
  });

  it('gives the parts of any well-formed multipart message, whatever their text', async () => {
    const line = fc.stringMatching(/^[^\r\n]{0,30}$/).filter((l) => !l.startsWith('--'));
    const body = fc.array(line, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('\r\n'));
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 5 }), async (bodies) => {
        const t = await tree(['Content-Type: multipart/mixed; boundary=b', '', ...bodies.flatMap((b) => ['--b', 'Content-Type: text/plain', '', b]), '--b--', '']);
        expect(t.children.map((c) => c.body)).toEqual(bodies);
      }),
    );
  });

  it('charges the run while it reads: over budget is the runtime error, not a stream error', async () => {
    const part = '--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n';
    const raw = `Content-Type: multipart/mixed; boundary=b\r\n\r\n${part.repeat(20_000)}--b--\r\n`;
    const budget = new CpuBudget(1);
    await expect(splitMime(textOctets(raw), 20, budget)).rejects.toBeInstanceOf(SieveRuntimeFailure);
  });

  it('lets the event loop run while it reads a large message', async () => {
    const part = '--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n';
    const m = parseMessage(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${part.repeat(8_000)}--b--\r\n`);
    // Another session's work: it runs only if the reader lets the loop go.
    const other = turnCounter();
    const t = await readMimeTree(m);
    const turns = other.stop();
    expect(Array.from(walkParts(t))).toHaveLength(8_001);
    expect(turns).toBeGreaterThan(5);
  });
});

describe('the budget while the splitter reads', () => {
  it('counts the work done between its chunks on the run\'s behalf, and not the turns other sessions get', async () => {
    // A clock that moves only when told: producing each chunk of octets is 5 ms
    // of the run's work, and each turn another session gets is 7 ms of its own.
    let clock = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => clock);
    try {
      const part = '--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n';
      const text = textOctets(`Content-Type: multipart/mixed; boundary=b\r\n\r\n${part.repeat(1_000)}--b--\r\n`);
      let chunks = 0;
      const octets = {
        length: text.length,
        text: text.text,
        *chunks() {
          for (const c of text.chunks() as Iterable<Buffer>) {
            chunks++;
            clock += 5;
            yield c;
          }
        },
      };
      let reading = true;
      let turns = 0;
      const other = () => {
        if (!reading) return;
        turns++;
        clock += 7;
        setImmediate(other);
      };
      setImmediate(other);
      // Real collections cannot be placed on a fake clock: only the run's own time is counted here.
      const budget = new CpuBudget(1e9, false);
      const root = await splitMime(octets, 20, budget);
      reading = false;
      expect(root.children).toHaveLength(1_000);
      expect(chunks).toBeGreaterThan(5);
      expect(turns).toBeGreaterThan(5);
      expect(budget.usedMs).toBe(5 * chunks);
    } finally {
      now.mockRestore();
    }
  });
});

describe('a host-kept message (a spool file)', () => {
  it('is split without reading any range back: a part\'s end is found from the octets as they pass, not by a read per part', async () => {
    const parts = Array.from({ length: 200 }, (_, i) => `--b\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
    const whole = Buffer.from(`Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n${parts}--b--\r\npost\r\n`);
    let reads = 0;
    const octets = hostOctets(whole.length, () => [whole], (start, end) => {
      reads++;
      return whole.subarray(start, end);
    }, false);
    const root = await splitMime(octets, 20);
    expect(reads).toBe(0);
    expect(root.children).toHaveLength(200);
    // The same ends as the message's text gives: a body stops before the CRLF of the next delimiter.
    const text = textOctets(whole.toString('utf8'));
    const fromText = await splitMime(text, 20);
    expect(root.children.map((c) => [c.bodyStart, c.end])).toEqual(fromText.children.map((c) => [c.bodyStart, c.end]));
    expect(whole.subarray(root.children[7]!.bodyStart, root.children[7]!.end).toString()).toBe('part 7');
  });
});
