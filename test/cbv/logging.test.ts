/**
 * The injected pino logger gets one structured event per decision, and the
 * transcript at debug level.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { pino } from 'pino';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { oneMx, testEngine } from '../helpers/cbv-fixture.js';
import { startSmtpRemote, type SmtpRemote } from '../helpers/smtp-remote.js';

let dns: TestDnsServer;
let remote: SmtpRemote;
beforeAll(async () => {
  dns = await startDnsServer({ ...oneMx('example.test'), 'private.test': { MX: [{ preference: 10, exchange: 'mx.private.test' }] }, 'mx.private.test': { A: ['10.0.0.1'] } });
  remote = await startSmtpRemote();
});
afterAll(async () => {
  await dns.close();
  await remote.close();
});

function capture() {
  const events: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) events.push(JSON.parse(line));
      cb();
    },
  });
  return { events, logger: pino({ level: 'debug' }, stream) };
}

it('logs the verdict at info, and next hops, each host and the transcript at debug', async () => {
  const { events, logger } = capture();
  const engine = testEngine(dns, remote.port, { logger });
  await engine.verify('alice@example.test');
  await engine.verify('alice@example.test');
  const names = events.map((e) => e.event);
  expect(names).toEqual(['cbv.dns', 'cbv.host', 'cbv.verdict', 'cbv.transcript', 'cbv.cache', 'cbv.verdict']);
  expect(events.every((e) => e.module === 'cbv')).toBe(true);
  expect(events[2]).toMatchObject({ status: 'pass', stage: 'rcpt', host: 'mx.example.test', ip: '127.0.0.1', cached: false, level: 30 });
  // At info a probe is one line, its verdict: the steps to it are details (pino's debug is 20).
  expect(events.filter((e) => e.event === 'cbv.dns' || e.event === 'cbv.host' || e.event === 'cbv.transcript').map((e) => e.level)).toEqual([20, 20, 20]);
  expect(JSON.stringify(events[3]?.transcript)).toContain('RCPT TO:<alice@example.test>');
  expect(events[5]).toMatchObject({ status: 'pass', cached: true });
});

it('logs the guard refusing a private address', async () => {
  const { events, logger } = capture();
  await testEngine(dns, remote.port, { logger }).verify('alice@private.test');
  expect(events.find((e) => e.event === 'cbv.guard')).toMatchObject({ ip: '10.0.0.1', decision: 'refuse', class: 'private' });
});
