/**
 * Remotes that misbehave, on a raw TCP server: garbage, a reset in the middle
 * of a reply, over-long lines and replies, replies split across packets,
 * a broken STARTTLS. The probe must end with a transient verdict, never hang,
 * never send DATA.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { oneMx, said, testEngine } from '../helpers/cbv-fixture.js';
import { startRawRemote, standardReply, type RawRemote, type RawRemoteScript } from '../helpers/smtp-remote.js';
import type { CbvOptions } from '../../src/cbv/index.js';

let dns: TestDnsServer;
let remote: RawRemote | undefined;

beforeAll(async () => {
  dns = await startDnsServer(oneMx('example.test'));
});
afterAll(() => dns.close());
afterEach(async () => {
  await remote?.close();
  remote = undefined;
});

async function check(script: RawRemoteScript, extra: CbvOptions = {}) {
  remote = await startRawRemote(script);
  return testEngine(dns, remote.port, extra).verify('alice@example.test');
}

const greet: RawRemoteScript['onConnect'] = (c) => c.send('220 raw.test ESMTP');

describe('malformed remotes', () => {
  it('is transient (protocol-error) when the greeting is not SMTP', async () => {
    const v = await check({ onConnect: (c) => c.send('HTTP/1.1 400 Bad Request'), onLine: standardReply });
    expect(v).toMatchObject({ status: 'transient', stage: 'greeting', reason: 'protocol-error' });
  });

  it('is transient (protocol-error) on garbage after RCPT TO', async () => {
    const v = await check({
      onConnect: greet,
      onLine: (line, c) => (line.startsWith('RCPT') ? c.send('\u0000\u0001 garbage \u00ff') : standardReply(line, c)),
    });
    expect(v).toMatchObject({ status: 'transient', stage: 'rcpt', reason: 'protocol-error' });
  });

  it('is transient (connection-lost) on a reset in the middle of a multi-line reply', async () => {
    const v = await check({
      onConnect: greet,
      onLine: (line, c) => {
        if (line.startsWith('EHLO')) {
          c.send('250-raw.test', '250-PIPELINING');
          c.socket.resetAndDestroy();
        } else standardReply(line, c);
      },
    });
    expect(v).toMatchObject({ status: 'transient', stage: 'ehlo', reason: 'connection-lost' });
  });

  it('is transient (reply-too-long) on a line longer than maxLineLength, without buffering it all', async () => {
    const v = await check(
      { onConnect: greet, onLine: (line, c) => (line.startsWith('MAIL') ? c.send(`250 ${'x'.repeat(5000)}`) : standardReply(line, c)) },
      { maxLineLength: 1000 },
    );
    expect(v).toMatchObject({ status: 'transient', stage: 'mail', reason: 'reply-too-long' });
  });

  it('is transient (reply-too-long) on a multi-line reply that never ends', async () => {
    const v = await check(
      { onConnect: greet, onLine: (line, c) => (line.startsWith('EHLO') ? c.send(...Array.from({ length: 400 }, (_, i) => `250-EXT${i}`)) : standardReply(line, c)) },
      { maxReplyBytes: 2048 },
    );
    expect(v).toMatchObject({ status: 'transient', stage: 'ehlo', reason: 'reply-too-long' });
  });

  it('reads a multi-line reply that arrives byte by byte', async () => {
    const v = await check({
      onConnect: (c) => {
        const text = '220-raw.test first\r\n220-second\r\n220 ready\r\n';
        let i = 0;
        const tick = () => {
          if (i < text.length) {
            c.socket.write(text[i++] as string);
            setTimeout(tick, 1);
          }
        };
        tick();
      },
      onLine: (line, c) =>
        line.startsWith('RCPT') ? c.send('550-5.1.1 no such user', '550-see the docs', '550 5.1.1 bye') : standardReply(line, c),
    });
    expect(v).toMatchObject({ status: 'fail', stage: 'rcpt', reason: 'rejected' });
    expect(v.reply).toBe('550 5.1.1 no such user see the docs 5.1.1 bye');
  });

  it('treats a change of code inside a multi-line reply as a protocol error', async () => {
    const v = await check({ onConnect: (c) => c.send('220-raw.test', '554 nope'), onLine: standardReply });
    expect(v).toMatchObject({ status: 'transient', stage: 'greeting', reason: 'protocol-error' });
  });

  it('sanitises control characters in the reply it reports', async () => {
    const v = await check({
      onConnect: greet,
      onLine: (line, c) => (line.startsWith('RCPT') ? c.send('550 5.1.1 bad\u0007user\u001b[31m') : standardReply(line, c)),
    });
    expect(v.status).toBe('fail');
    expect(v.reply).toBe('550 5.1.1 bad?user?[31m');
  });

  it('is an error when HELO is rejected after EHLO was not recognised', async () => {
    const v = await check({
      onConnect: greet,
      onLine: (line, c) => (/^(EHLO|HELO)/.test(line) ? c.send('502 5.5.2 go away') : standardReply(line, c)),
    });
    expect(v).toMatchObject({ status: 'error', result: 'error', stage: 'ehlo', reason: 'helo-rejected' });
    expect(said(v)).toEqual(['EHLO probe.test', 'HELO probe.test', 'QUIT']);
  });

  it('sends RSET between probes on one session and QUIT at the end, never DATA', async () => {
    const v = await check(
      {
        onConnect: greet,
        onLine: (line, c) => (line.startsWith('RCPT TO:<cbv-') ? c.send('550 5.1.1 no such user') : standardReply(line, c)),
      },
      { catchAllCheck: true, postmasterCheck: true },
    );
    expect(v).toMatchObject({ status: 'pass', reason: 'accepted', acceptAll: false });
    const verbs = remote?.lines.map((l) => l.split(' ')[1]?.split(':')[0]);
    expect(verbs).toEqual(['EHLO', 'MAIL', 'RCPT', 'RSET', 'MAIL', 'RCPT', 'RSET', 'MAIL', 'RCPT', 'QUIT']);
    expect(remote?.lines.filter((l) => l.includes('RCPT')).map((l) => l.replace(/cbv-[0-9a-z]+/, 'cbv-RANDOM'))).toEqual([
      '1 RCPT TO:<cbv-RANDOM@example.test>',
      '1 RCPT TO:<alice@example.test>',
      '1 RCPT TO:<postmaster@example.test>',
    ]);
  });
});

describe('EHLO and QUIT', () => {
  it('is transient when EHLO gets 421', async () => {
    const v = await check({ onConnect: greet, onLine: (line, c) => (line.startsWith('EHLO') ? c.send('421 4.3.2 shutting down') : standardReply(line, c)) });
    expect(v).toMatchObject({ status: 'transient', stage: 'ehlo', reason: 'tempfail', reply: '421 4.3.2 shutting down' });
  });

  it('waits only quitWaitMs for a 221 that never comes', async () => {
    const v = await check(
      { onConnect: greet, onLine: (line, c) => (line === 'QUIT' ? undefined : standardReply(line, c)) },
      { quitWaitMs: 100, commandTimeoutMs: 3000 },
    );
    expect(v.status).toBe('pass');
    expect(said(v).at(-1)).toBe('QUIT');
    expect(v.durationMs).toBeLessThan(1000);
  });
});

describe('STARTTLS that breaks', () => {
  it('retries the same host in clear when the TLS handshake fails', async () => {
    const v = await check({
      onConnect: greet,
      onLine: (line, c) => {
        if (line.startsWith('EHLO')) c.send('250-raw.test', '250 STARTTLS');
        else if (line === 'STARTTLS') {
          c.send('220 go ahead');
          // Not a TLS server hello: the handshake fails on our side.
          c.socket.write('this is not TLS\r\n');
        } else standardReply(line, c);
      },
    });
    expect(v).toMatchObject({ status: 'pass', stage: 'rcpt' });
    expect(remote?.connections).toBe(2);
    const second = remote?.lines.filter((l) => l.startsWith('2 ')).map((l) => l.slice(2));
    expect(second).toEqual(['EHLO probe.test', 'MAIL FROM:<>', 'RCPT TO:<alice@example.test>', 'QUIT']);
  });

  it('ends the handshake at once when the remote sends garbage after 220 and closes', async () => {
    // The command timeout is far longer than the overall deadline (2 s). A
    // handshake that waits for its timer uses up the deadline, and the clear
    // retry then has no time for the second connection's greeting (held
    // 100 ms here). Ended at the close, the handshake leaves the retry ~2 s.
    const v = await check(
      {
        onConnect: (c) => (c.n === 1 ? greet(c) : setTimeout(() => greet(c), 100)),
        onLine: (line, c) => {
          if (line.startsWith('EHLO') && c.n === 1) c.send('250-raw.test', '250 STARTTLS');
          else if (line === 'STARTTLS') c.socket.end('220 go ahead\r\nthis is not TLS\r\n');
          else standardReply(line, c);
        },
      },
      { timeout: 2, commandTimeoutMs: 30_000 },
    );
    expect(v).toMatchObject({ status: 'pass', stage: 'rcpt' });
    expect(remote?.connections).toBe(2);
    const events = v.transcript.filter((l) => l.dir === '*').map((l) => l.text);
    // The garbage after 220 is not an SMTP reply to anything: it is dropped, not parsed.
    expect(events.some((t) => t.startsWith('not an SMTP reply'))).toBe(false);
    expect(events.some((t) => t.startsWith('TLS failed'))).toBe(true);
  });

  it('goes on in clear on the same session when STARTTLS gets 454', async () => {
    const v = await check({
      onConnect: greet,
      onLine: (line, c) => {
        if (line.startsWith('EHLO')) c.send('250-raw.test', '250 STARTTLS');
        else if (line === 'STARTTLS') c.send('454 4.7.0 TLS not available');
        else standardReply(line, c);
      },
    });
    expect(v.status).toBe('pass');
    expect(remote?.connections).toBe(1);
    expect(said(v)).toEqual(['EHLO probe.test', 'STARTTLS', 'MAIL FROM:<>', 'RCPT TO:<alice@example.test>', 'QUIT']);
  });
});
