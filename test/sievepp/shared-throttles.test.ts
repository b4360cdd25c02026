/**
 * The ec_shared_throttle functions (sieve-ref-ec-shared-throttle.md) as
 * scripts call them: two hosts, as two smtp-cbv servers of a cluster, over
 * one real redis-server, running the page's example; check as the page
 * compares it; and the arguments, checked at compile time when literal
 * (reported at file:line:col by `smtp-cbv check`), else when the script runs.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import type { ExecutionResult } from '../../src/sieve/interpreter.js';
import { NamedThrottles } from '../../src/sievepp/throttles.js';
import { RedisLink } from '../../src/store/redis-link.js';
import { RedisThrottles } from '../../src/store/redis-throttles.js';
import { NO_REDIS, TestRedis } from '../helpers/redis-server.js';
import { compileErrors, runPP, valueOf } from './helpers.js';

const at = (ms: number) => ({ now: () => new Date(ms) });
const acts = (r: ExecutionResult) => r.actions.map((a) => a.def.describe(a));

describe.skipIf(NO_REDIS)('two servers sharing a throttle through Redis (skipped: redis-server is not installed)', () => {
  let redis: TestRedis;
  const links: RedisLink[] = [];
  beforeAll(async () => {
    redis = await TestRedis.start();
  });
  afterAll(async () => {
    for (const l of links) await l.close();
    await redis?.stop();
  });
  async function server(): Promise<RedisThrottles> {
    const link = new RedisLink({ url: redis.url, keyPrefix: 'sieve:', commandTimeoutMs: 500, logger: pino({ level: 'silent' }) });
    links.push(link);
    await link.settled(2000);
    return new RedisThrottles(link, new NamedThrottles());
  }

  it('the page\'s example, "Emulating Inbound_Throttle_Messages": 30 messages a second between them, the 31st tarpitted into the next second', async () => {
    const [a, b] = [await server(), await server()];
    const script = 'ec_shared_throttle_create "foo" "30/1"; ec_shared_throttle_tarpit "foo";';
    const results = [];
    for (let i = 0; i < 31; i++) results.push(acts(await runPP(script, { host: { sharedThrottles: i % 2 ? a : b, ...at(250) } })));
    expect(results.slice(0, 30).flat()).toEqual([]);
    // The windows start with the throttle (at 250 ms): the 31st waits for the next.
    expect(results[30]).toEqual(['ec_tarpit 1']);
    // That window has its place and 29 more, on either server.
    for (let i = 0; i < 29; i++) expect(acts(await runPP(script, { host: { sharedThrottles: i % 2 ? a : b, ...at(1250) } }))).toEqual([]);
    expect(acts(await runPP(script, { host: { sharedThrottles: a, ...at(1500) } }))).toEqual(['ec_tarpit 0.75']);
  });

  it('check is "true" once both servers\' incs pass the rate, assigned and compared as the page shows', async () => {
    const [a, b] = [await server(), await server()];
    const script = 'ec_shared_throttle_create "bar" "2/60" "0.95"; ec_shared_throttle_inc "bar"; $var = ec_shared_throttle_check "bar"; if ec_test :is $var "true" { ec_action 451 "4.7.1 slow down"; }';
    expect(await valueOf(script, 'var', { host: { sharedThrottles: a, ...at(0) } })).toBe('false');
    expect(await valueOf(script, 'var', { host: { sharedThrottles: b, ...at(1) } })).toBe('false');
    const third = await runPP(script, { host: { sharedThrottles: a, ...at(2) } });
    expect(acts(third)).toEqual(['ec_action 451 "4.7.1 slow down"']);
    // ec_throttle_* of the same name is another throttle, the server's own.
    expect(await valueOf('ec_throttle_create "bar" "2/60"; $v = ec_throttle_check "bar";', 'v', { host: { throttles: new NamedThrottles(), ...at(3) } })).toBe('false');
  });
});

describe('the arguments of ec_shared_throttle_*', () => {
  it('a literal rate that is not X/Y, or epsilon not above 0 and below 1, is a compile error at the argument', () => {
    expect(compileErrors('ec_shared_throttle_create "x" "30";')).toEqual(['1:31: ec_shared_throttle_create: \'30\' is not a rate such as "30/1" (messages/seconds)']);
    for (const bad of ['1', '0', '1.5', '-0.5', 'half']) {
      expect(compileErrors(`ec_shared_throttle_create "x" "30/1" "${bad}";`)).toEqual([`1:38: ec_shared_throttle_create: epsilon '${bad}' is not a number above 0 and below 1`]);
    }
    expect(compileErrors('ec_shared_throttle_create "x" "30/1" "0.95"; ec_shared_throttle_create "y" "1/60" ".5";')).toEqual([]);
    expect(compileErrors('ec_throttle_create "x" "0/1";')).toEqual(['1:24: ec_throttle_create: \'0/1\' is not a rate such as "30/1" (messages/seconds)']);
  });

  it('Momentum has no ec_shared_throttle_dec, and ec_throttle_create takes no epsilon', () => {
    expect(compileErrors('ec_shared_throttle_dec "x";')).toEqual(["1:1: unknown command 'ec_shared_throttle_dec' (only reported once at first occurrence)"]);
    expect(compileErrors('ec_throttle_create "x" "1/1" "0.5";')).toHaveLength(1);
  });

  it('smtp-cbv check reports them at FILE:LINE:COL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-shared-throttle-'));
    const file = join(dir, 'bad.siv');
    await writeFile(file, 'ec_shared_throttle_create "ok" "30/1";\nec_shared_throttle_create "foo" "30 a second";\nec_shared_throttle_create "bar" "5/1" "1.0";\n');
    const io = bufferIO();
    expect(await main(['check', file], io)).toBe(1);
    expect(io.stdout.trimEnd().split('\n')).toEqual([
      `${file}:2:33: error: ec_shared_throttle_create: '30 a second' is not a rate such as "30/1" (messages/seconds)`,
      `${file}:3:39: error: ec_shared_throttle_create: epsilon '1.0' is not a number above 0 and below 1`,
    ]);
  });

  it('a rate or epsilon known only when the script runs, a throttle not created, and a host without shared throttles are runtime errors', async () => {
    const errors = async (script: string, host = {}) => (await runPP(script, { host })).errors.map((e) => e.message).join(' ');
    const sharedThrottles = new NamedThrottles();
    expect(await errors('$r = "fast"; ec_shared_throttle_create "x" $r;', { sharedThrottles })).toMatch(/ec_shared_throttle_create: 'fast' is not a rate such as "30\/1"/);
    expect(await errors('$e = "2"; ec_shared_throttle_create "x" "1/1" $e;', { sharedThrottles })).toMatch(/epsilon '2' is not a number above 0 and below 1/);
    expect(await errors('ec_shared_throttle_tarpit "none";', { sharedThrottles })).toMatch(/ec_shared_throttle_tarpit: there is no throttle 'none' \(ec_shared_throttle_create it first\)/);
    expect(await errors('ec_shared_throttle_create "x" "1/1";', { throttles: new NamedThrottles() })).toMatch(/ec_shared_throttle_create: this host keeps no throttles/);
  });
});
