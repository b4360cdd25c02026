/**
 * The two-level cache, single flight, limits, the optional catch-all and
 * postmaster checks, and the policy skips, all against a real remote.
 * Time is an injected clock, so TTLs are tested without waiting.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/cbv/index.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { oneMx, testEngine } from '../helpers/cbv-fixture.js';
import { startSmtpRemote, type SmtpRemote, type SmtpRemoteScript } from '../helpers/smtp-remote.js';
import type { CbvOptions } from '../../src/cbv/index.js';

let dns: TestDnsServer;
let remote: SmtpRemote | undefined;

beforeAll(async () => {
  dns = await startDnsServer({ ...oneMx('example.test'), ...oneMx('other.test') });
});
afterAll(() => dns.close());
afterEach(async () => {
  await remote?.close();
  remote = undefined;
});

/** A remote whose RCPT answer a test can change between checks. */
async function setup(extra: CbvOptions = {}, script: SmtpRemoteScript = {}) {
  const state = { rcpt: 250 };
  remote = await startSmtpRemote({
    rcpt: (a) => (state.rcpt === 250 ? undefined : { code: state.rcpt, message: `${state.rcpt === 550 ? '5.1.1' : '4.2.0'} ${a}` }),
    ...script,
  });
  const clock = { t: 1_000_000 };
  const engine = testEngine(dns, remote.port, { now: () => clock.t, ...extra });
  return { engine, state, clock, remote };
}

describe('address cache', () => {
  it('caches a pass for positiveTtl and answers from the cache without a connection', async () => {
    const { engine, clock, remote } = await setup({ positiveTtl: 100 });
    expect((await engine.verify('alice@example.test')).cached).toBe(false);
    const hit = await engine.verify('alice@example.test');
    expect(hit).toMatchObject({ status: 'pass', cached: true, stage: 'rcpt', host: 'mx.example.test' });
    expect(hit.reply).toMatch(/^250 /);
    expect(remote.connections).toBe(1);
    clock.t += 101_000;
    expect((await engine.verify('alice@example.test')).cached).toBe(false);
    expect(remote.connections).toBe(2);
  });

  it('caches a fail for the shorter negativeTtl', async () => {
    const { engine, state, clock, remote } = await setup({ positiveTtl: 1000, negativeTtl: 10 });
    state.rcpt = 550;
    await engine.verify('bob@example.test');
    expect(await engine.verify('bob@example.test')).toMatchObject({ status: 'fail', cached: true });
    clock.t += 11_000;
    expect((await engine.verify('bob@example.test')).cached).toBe(false);
    expect(remote.connections).toBe(2);
  });

  it('never caches a transient verdict', async () => {
    const { engine, state, remote } = await setup();
    state.rcpt = 450;
    await engine.verify('grey@example.test');
    const again = await engine.verify('grey@example.test');
    expect(again).toMatchObject({ status: 'transient', cached: false });
    expect(remote.connections).toBe(2);
  });

  it('does not let a failed probe overwrite a fresh positive entry', async () => {
    const { engine, state } = await setup();
    await engine.verify('alice@example.test');
    state.rcpt = 550;
    const forced = await engine.verify('alice@example.test', { bypassCache: true });
    expect(forced).toMatchObject({ status: 'fail', cached: false });
    expect(await engine.verify('alice@example.test')).toMatchObject({ status: 'pass', cached: true });
  });

  it('keys on the sender when it is not <>', async () => {
    const { engine, remote } = await setup();
    await engine.verify('alice@example.test', { sender: 'a@probe.test' });
    expect((await engine.verify('alice@example.test', { sender: 'a@probe.test' })).cached).toBe(true);
    expect((await engine.verify('alice@example.test', { sender: 'b@probe.test' })).cached).toBe(false);
    expect((await engine.verify('alice@example.test')).cached).toBe(false);
    expect(remote.connections).toBe(3);
  });

  it('evicts the least recently used entry from the in-memory store', async () => {
    const store = new MemoryStore(2);
    const e = { reason: 'accepted' as const, stage: 'rcpt' as const, message: 'm', storedAt: 0, expiresAt: Date.now() + 60_000 };
    await store.set('a', e);
    await store.set('b', e);
    await store.get('a');
    await store.set('c', e);
    expect(await store.get('a')).toBeDefined();
    expect(await store.get('b')).toBeUndefined();
    expect(store.size).toBe(2);
  });
});

describe('shared store', () => {
  it('uses an injected store', async () => {
    const inner = new MemoryStore(100);
    const { engine } = await setup({ store: inner, now: Date.now });
    await engine.verify('alice@example.test');
    expect(inner.size).toBe(1);
    expect((await engine.verify('alice@example.test')).cached).toBe(true);
  });

  it('treats a failing store as a miss instead of failing the check', async () => {
    const down = () => Promise.reject(new Error('store down'));
    const { engine, remote } = await setup({ store: { get: down, set: down, delete: down } });
    expect(await engine.verify('alice@example.test')).toMatchObject({ status: 'pass', cached: false });
    expect(await engine.verify('alice@example.test')).toMatchObject({ status: 'pass', cached: false });
    expect(remote.connections).toBe(2);
  });
});

describe('domain cache', () => {
  it('remembers that a domain rejects our sender, for every address there', async () => {
    const { engine, remote } = await setup({}, { mail: () => ({ code: 550, message: '5.7.1 no null sender' }) });
    await engine.verify('alice@example.test');
    const other = await engine.verify('zoe@example.test');
    expect(other).toMatchObject({ status: 'error', reason: 'sender-rejected', stage: 'mail', cached: true });
    expect(remote.connections).toBe(1);
  });

  it('remembers a domain with no usable MX (null MX, NXDOMAIN) without asking DNS again', async () => {
    const { engine } = await setup();
    await engine.verify('a@nowhere.test');
    const afterFirst = dns.queries.length;
    const second = await engine.verify('b@nowhere.test');
    expect(second).toMatchObject({ status: 'error', reason: 'nxdomain', cached: true });
    expect(dns.queries.length).toBe(afterFirst);
  });

  it('records an accept-all domain from the catch-all check and answers pass for every address', async () => {
    const { engine, remote } = await setup({ catchAllCheck: true });
    const first = await engine.verify('alice@example.test');
    expect(first).toMatchObject({ status: 'pass', reason: 'accept-all', acceptAll: true });
    expect(remote.log).toHaveLength(2); // MAIL + RCPT of the random local part only
    expect(remote.log[1]).toMatch(/^RCPT <cbv-[0-9a-z]{12}@example.test>$/);
    expect(await engine.verify('zoe@example.test')).toMatchObject({ reason: 'accept-all', cached: true });
    expect(remote.connections).toBe(1);
  });

  it('asks the catch-all question once per domain', async () => {
    const { engine, remote } = await setup({ catchAllCheck: true }, { rcpt: (a) => (a.startsWith('cbv-') ? { code: 550, message: 'no' } : undefined) });
    await engine.verify('alice@example.test');
    await engine.verify('bob@example.test');
    expect(remote.log.filter((l) => l.startsWith('RCPT <cbv-'))).toHaveLength(1);
  });

  it('is an error when postmaster is rejected, cached per domain; a good postmaster is asked once', async () => {
    const bad = await setup({ postmasterCheck: true }, { rcpt: (a) => (a.startsWith('postmaster@') ? { code: 550, message: 'no postmaster' } : undefined) });
    expect(await bad.engine.verify('alice@example.test')).toMatchObject({ status: 'error', result: 'error', reason: 'postmaster-rejected', stage: 'rcpt' });
    expect(await bad.engine.verify('bob@example.test')).toMatchObject({ reason: 'postmaster-rejected', cached: true });
    await remote?.close();
    const good = await setup({ postmasterCheck: true });
    await good.engine.verify('alice@example.test');
    await good.engine.verify('bob@example.test');
    expect(good.remote.log.filter((l) => l.startsWith('RCPT <postmaster@'))).toHaveLength(1);
  });
});

describe('single flight and limits', () => {
  it('runs identical probes in flight once and gives every waiter the verdict', async () => {
    const { engine, remote } = await setup({}, { rcpt: () => ({ code: 250, message: 'ok', delayMs: 100 }) });
    const verdicts = await Promise.all(Array.from({ length: 20 }, () => engine.verify('alice@example.test')));
    expect(verdicts.every((v) => v.status === 'pass')).toBe(true);
    expect(remote.connections).toBe(1);
    expect(engine.stats).toMatchObject({ probes: 1, joined: 19 });
  });

  it('is transient rate-limited over the per-domain concurrency, without queueing', async () => {
    const { engine, remote } = await setup({ maxConcurrentPerDomain: 2 }, { rcpt: () => ({ code: 250, message: 'ok', delayMs: 100 }) });
    const vs = await Promise.all(['a', 'b', 'c', 'd'].map((l) => engine.verify(`${l}@example.test`)));
    expect(vs.map((v) => v.status).sort()).toEqual(['pass', 'pass', 'transient', 'transient']);
    expect(vs.filter((v) => v.status === 'transient').every((v) => v.reason === 'rate-limited' && v.stage === 'policy')).toBe(true);
    expect(remote.connections).toBe(2);
    // A rate-limited verdict is not cached: the next check probes.
    const late = vs.find((v) => v.status === 'transient');
    expect((await engine.verify(late?.address ?? '')).status).toBe('pass');
  });

  it('is rate-limited over the global concurrency, across domains', async () => {
    const { engine } = await setup({ maxConcurrent: 1 }, { rcpt: () => ({ code: 250, message: 'ok', delayMs: 100 }) });
    const [a, b] = await Promise.all([engine.verify('a@example.test'), engine.verify('b@other.test')]);
    expect([a?.status, b?.reason]).toEqual(['pass', 'rate-limited']);
  });

  it('limits sessions per MX IP across domains, and goes on to the next host meanwhile', async () => {
    const { engine, remote } = await setup({ maxConcurrentPerHost: 1 }, { rcpt: () => ({ code: 250, message: 'ok', delayMs: 100 }) });
    // example.test and other.test share 127.0.0.1; each has one MX only.
    const [a, b] = await Promise.all([engine.verify('a@example.test'), engine.verify('b@other.test')]);
    expect([a?.status, b?.status, b?.reason, b?.stage]).toEqual(['pass', 'transient', 'rate-limited', 'connect']);
    expect(remote.connections).toBe(1);
    expect((await engine.verify('b@other.test')).status).toBe('pass');
  });

  it('is rate-limited over the per-domain rate, until the window has passed', async () => {
    const { engine, clock } = await setup({ ratePerDomain: 2, rateWindow: 60 });
    expect((await engine.verify('a@example.test')).status).toBe('pass');
    expect((await engine.verify('b@example.test')).status).toBe('pass');
    expect(await engine.verify('c@example.test')).toMatchObject({ status: 'transient', reason: 'rate-limited' });
    expect((await engine.verify('a@other.test')).status).toBe('pass');
    clock.t += 61_000;
    expect((await engine.verify('c@example.test')).status).toBe('pass');
  });
});

describe('policy skips', () => {
  it('makes no probe for the null sender; the result stays unset', async () => {
    const { engine, remote } = await setup();
    for (const a of ['', '<>']) {
      expect(await engine.verify(a)).toMatchObject({ status: 'error', result: null, stage: 'policy', reason: 'null-sender' });
    }
    expect(remote.connections).toBe(0);
  });

  it('never probes our own domains (before or after map) nor our own probe sender', async () => {
    const { engine, remote } = await setup({ ownDomains: ['Example.TEST'], mailFrom: 'cbv@probe.test', map: { 'alias.test': 'example.test' } });
    expect(await engine.verify('alice@example.test')).toMatchObject({ result: null, reason: 'own-domain', stage: 'policy' });
    expect(await engine.verify('alice@alias.test')).toMatchObject({ result: null, reason: 'own-domain' });
    expect(await engine.verify('CBV@probe.test')).toMatchObject({ result: null, reason: 'own-sender' });
    expect(remote.connections).toBe(0);
    expect(dns.queries.some((q) => q.includes('probe.test'))).toBe(false);
  });

  it('refuses addresses that would smuggle text into an SMTP command', async () => {
    const { engine, remote } = await setup();
    for (const a of ['a\r\nDATA@example.test', 'a b@example.test', 'a>@example.test', 'noatsign', '@example.test', 'a@', 'a@[127.0.0.1]']) {
      expect(await engine.verify(a)).toMatchObject({ status: 'error', reason: 'invalid-address', stage: 'policy' });
    }
    expect(await engine.verify('a@example.test', { sender: 'x\r\n@probe.test' })).toMatchObject({ reason: 'invalid-address' });
    expect(remote.connections).toBe(0);
  });
});
