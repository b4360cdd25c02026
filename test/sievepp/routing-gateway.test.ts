/**
 * ec_set_routing_gateway (sieve-ref-ec-set-routing-gateway.md): what it
 * accepts and refuses, at compile time for a literal (as `smtp-cbv check`
 * prints it) and at run time for a computed value, and the action it takes.
 * test/delivery/routing-gateway.test.ts follows the choice into the queue.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bufferIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { compileErrors, runPP } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-routing-gateway-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const NOT_A_GATEWAY = 'is not a gateway (a host name or address with an optional port, such as relay.example.net, 192.0.2.1:2525 or [2001:db8::1]:25)';

/** The actions a run took, as their definitions describe them, and its runtime errors. */
async function run(script: string, phase?: string) {
  const r = await runPP(script, phase === undefined ? {} : { phase });
  return { actions: r.actions.map((a) => a.def.describe(a)), errors: r.errors.map((e) => `${e.pos?.line}:${e.pos?.column}: ${e.message}`) };
}

describe('ec_set_routing_gateway', () => {
  it('takes a host name, an IPv4 address or an IPv6 address in brackets, each with an optional port, as the Gateway option does', async () => {
    const r = await run('ec_set_routing_gateway "Relay.Example.NET.";\nec_set_routing_gateway "192.0.2.1:2525";\nec_set_routing_gateway "[2001:DB8::1]:25";');
    // The last one wins; each is written back in its normal form.
    expect(r).toEqual({ actions: ['routing_gateway [2001:db8::1]:25'], errors: [] });
    expect((await run('ec_set_routing_gateway "Relay.Example.NET.";')).actions).toEqual(['routing_gateway relay.example.net']);
    expect((await run('ec_set_routing_gateway "192.0.2.1:2525";')).actions).toEqual(['routing_gateway 192.0.2.1:2525']);
  });

  it('refuses a literal that is not a gateway, and a list (one address only), at compile time: check names file:line:col', async () => {
    const file = join(dir, 'bad.siv');
    await writeFile(file, 'if true {\n  ec_set_routing_gateway "bad host";\n}\nec_set_routing_gateway ["a.test", "b.test"];\nec_set_routing_gateway "host:99999";\nec_set_routing_gateway "2001:db8::1";\n');
    const io = bufferIO();
    expect(await main(['check', file], io)).toBe(1);
    expect(io.stdout.trimEnd().split('\n')).toEqual([
      `${file}:2:26: error: ec_set_routing_gateway: 'bad host' ${NOT_A_GATEWAY}`,
      `${file}:4:24: error: the ec_set_routing_gateway function expects a string as argument 1 (address), but a string list was found`,
      `${file}:5:24: error: ec_set_routing_gateway: 'host:99999' ${NOT_A_GATEWAY}`,
      `${file}:6:24: error: ec_set_routing_gateway: '2001:db8::1' ${NOT_A_GATEWAY}`,
    ]);
  });

  it('refuses a computed value that is not a gateway at run time, at its position, and takes no action', async () => {
    const r = await run('require "variables";\nset "g" "relay.test:0";\nec_set_routing_gateway "${g}";');
    expect(r).toEqual({ actions: [], errors: [`3:1: ec_set_routing_gateway: 'relay.test:0' ${NOT_A_GATEWAY}`] });
  });

  it('runs at RCPT TO and DATA (and in Momentum\'s each_rcpt); elsewhere it is an error', async () => {
    for (const phase of ['rcptto', 'data', 'each_rcpt']) expect(await run('ec_set_routing_gateway "relay.test";', phase), phase).toEqual({ actions: ['routing_gateway relay.test'], errors: [] });
    expect(compileErrors('ec_set_routing_gateway "relay.test";', { phase: 'mailfrom' })).toEqual(['1:1: ec_set_routing_gateway is not allowed in the mailfrom phase (only in rcptto, data, each_rcpt)']);
    expect((await run('ec_set_routing_gateway "relay.test";', 'connect')).errors).toEqual(['1:1: ec_set_routing_gateway is not allowed in the connect phase (only in rcptto, data, each_rcpt)']);
  });
});
