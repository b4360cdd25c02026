/**
 * Routing: which route a recipient takes (Domain scopes over the top-level
 * options), and MX delivery through the CBV engine's resolver and target
 * guard against a real DNS server and next hop on loopback.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGateway } from '../../src/config/delivery.js';
import { loadConfig } from '../../src/config/index.js';
import { dueJobs } from '../../src/delivery/queue-attempts.js';
import { replay } from '../../src/delivery/queue-entry.js';
import { entryHeader } from '../../src/delivery/queue-new-entry.js';
import { limitsShare } from '../../src/delivery/queue-shards.js';
import { destinationFor, NextHops } from '../../src/delivery/routes.js';
import { oneMx } from '../helpers/cbv-fixture.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { parseDsn } from '../helpers/dsn-parse.js';
import { type MailSink, startMailSink } from '../helpers/mail-sink.js';
import { configFor, events, message, openQueue, until } from '../helpers/queue-fixture.js';

describe('routes from the configuration', () => {
  const config = configFor(
    [
      'Gateway = "smarthost.test:2525"',
      'Domain "lmtp.test" { Gateway = "[::1]" Delivery_Method = LMTP }',
      'Domain "local.test" { Delivery_Method = maildir }',
      'Domain "Direct.TEST" { Delivery_Method = ESMTP  Max_Outbound_Connections = 3 }',
    ].join('\n'),
    '/tmp/x',
  ).delivery;

  it('sends domains without a scope to the top-level gateway', () => {
    expect(config.routed).toBe(true);
    expect(destinationFor('a@other.test', config).key).toBe('gateway:esmtp:smarthost.test:2525');
  });
  it('uses LMTP_Port for an LMTP gateway named without a port', () => {
    expect(destinationFor('a@lmtp.test', config).key).toBe('gateway:lmtp:::1:24');
  });
  it('delivers a maildir domain locally and sends a domain with its own method to its MX hosts', () => {
    expect(destinationFor('a@LOCAL.test', config).key).toBe('maildir');
    const d = destinationFor('a@direct.test', config);
    expect(d.key).toBe('mx:direct.test');
    expect(d.route.maxOutboundConnections).toBe(3);
  });
  it('sends a recipient whose script chose a gateway there, as a destination of its own, whatever the route of its domain', () => {
    const gateway = parseGateway('10.1.2.3:2526')!;
    for (const address of ['a@other.test', 'a@lmtp.test', 'a@local.test', 'a@direct.test']) {
      const d = destinationFor(address, config, gateway);
      expect([d.key, d.route.method, d.route.gateway], address).toEqual(['gateway:smtp:10.1.2.3:2526', 'smtp', gateway]);
      // The top-level options, not those of the recipient domain (Direct.TEST has a limit of 3).
      expect(d.route.maxOutboundConnections).toBe(20);
    }
    expect(destinationFor('a@other.test', config, parseGateway('Relay.Example')!).key).toBe('gateway:smtp:relay.example:25');
  });
  it('counts a scripted gateway apart in an entry: one job for it, one for the configured route', () => {
    const entry = message('a@sender.test', ['a@other.test', 'b@other.test', 'c@other.test']);
    entry.recipients[1]!.gateway = parseGateway('10.1.2.3:2526')!;
    const header = entryHeader(entry, Date.now());
    const { groups } = dueJobs({ state: replay({ header, records: [] }), jobs: 0 }, Date.now(), config);
    expect([...groups].map(([key, job]) => [key, job.indexes])).toEqual([
      ['gateway:esmtp:smarthost.test:2525', [0, 2]],
      ['gateway:smtp:10.1.2.3:2526', [1]],
    ]);
  });
  it('reads a domain of the name of an Object property (constructor, __proto__) as a domain without a scope, under workers too', () => {
    // A worker's share of the limits (queue-shards.ts) is a plain object: its domains must not be looked up on Object.prototype,
    // or such a recipient's route has no limit and its attempt never starts.
    for (const c of [config, limitsShare(config, 2)]) {
      for (const address of ['a@constructor', 'a@__proto__', 'a@tostring']) {
        const d = destinationFor(address, c);
        expect([d.key, typeof d.route.maxOutboundConnections], address).toEqual(['gateway:esmtp:smarthost.test:2525', 'number']);
      }
    }
  });
  it('routes nothing when no routing option is written', () => {
    expect(configFor('', '/tmp/x').delivery.routed).toBe(false);
  });
  it('parses Gateway values as Momentum writes them', () => {
    expect(parseGateway('10.0.0.1')).toEqual({ host: '10.0.0.1', port: null });
    expect(parseGateway('[fe80::a00]:1')).toEqual({ host: 'fe80::a00', port: 1 });
    expect(parseGateway('My.Local.Smart.Host')).toEqual({ host: 'my.local.smart.host', port: null });
    for (const bad of ['', 'a b', 'fe80::1', '[nothost]:25', 'host:0', 'host:70000', '300.1.1.1']) expect(parseGateway(bad), bad).toBeUndefined();
  });
  it('examples/relay.conf loads and routes as its comments say', async () => {
    const { config, diagnostics } = await loadConfig(fileURLToPath(new URL('../../examples/relay.conf', import.meta.url)));
    expect(diagnostics).toEqual([]);
    const d = config!.delivery;
    expect([destinationFor('a@example.com', d).key, destinationFor('a@localhost', d).key, destinationFor('a@other.test', d).key]).toEqual([
      'gateway:lmtp:127.0.0.1:2424',
      'maildir',
      'gateway:esmtp:127.0.0.1:2526',
    ]);
    expect(d).toMatchObject({ retryIntervalMs: 300_000, maxRetryIntervalMs: 7_200_000, messageExpirationMs: 432_000_000, generateDelayDsn: true });
  });

  it('refuses LMTP without a gateway, naming the place', () => {
    expect(() => configFor('Domain "x.test" { Delivery_Method = LMTP }', '/tmp/x')).toThrow(/3:1 Domain "x.test": Delivery_Method LMTP needs a Gateway/);
  });
});

describe('a worker\'s share of the queue', () => {
  it('delivers mail for a domain named like an Object property (its attempt once never started: its route had no limit)', async () => {
    const sink = await startMailSink();
    const fx = await openQueue(`Gateway = "127.0.0.1:${sink.port}"\nTLS = no`, { slot: 0, workers: 2 });
    try {
      await fx.queue.add([message('alice@sender.test', ['a@constructor'])]);
      await until(() => sink.messages.length === 1);
      expect(sink.messages[0]!.to).toEqual(['a@constructor']);
    } finally {
      await fx.close();
      await sink.stop();
    }
  });
});

describe('MX delivery', () => {
  let dns: TestDnsServer;
  let mx: MailSink;
  let senderMx: MailSink;
  beforeAll(async () => {
    mx = await startMailSink();
    senderMx = await startMailSink();
    dns = await startDnsServer({
      ...oneMx('dest.test'),
      ...oneMx('sender.test'),
      'implicit.test': { A: ['127.0.0.1'] },
      'nullmx.test': { MX: [{ preference: 0, exchange: '.' }], A: ['127.0.0.1'] },
      'private.test': { MX: [{ preference: 10, exchange: 'mx.private.test' }] },
      'mx.private.test': { A: ['10.1.2.3'] },
      // A gateway named by a domain with MX records only, and one by a host with an address.
      'relay-domain.test': { MX: [{ preference: 10, exchange: 'in.relay-domain.test' }] },
      'in.relay-domain.test': { A: ['127.0.0.1'] },
      'relay-host.test': { A: ['127.0.0.1'], MX: [{ preference: 10, exchange: 'mx.private.test' }] },
    });
  });
  afterAll(async () => {
    await mx.stop();
    await senderMx.stop();
    await dns.close();
  });

  const conf = () =>
    [
      'Delivery_Method = ESMTP',
      `delivery_dns_servers = ( "${dns.address}" )`,
      'delivery_allow_targets = ( 127.0.0.0/8 )',
      `Remote_SMTP_Port = ${mx.port}`,
      'retry_jitter = 0',
      `Domain "sender.test" { Gateway = "127.0.0.1:${senderMx.port}" }`,
    ].join('\n');

  it('delivers to the MX host, and to the domain itself when it has no MX (implicit MX)', async () => {
    const fx = await openQueue(conf());
    try {
      const before = mx.messages.length;
      await fx.queue.add([message('alice@sender.test', ['bob@dest.test']), message('alice@sender.test', ['bob@implicit.test'])]);
      await until(() => mx.messages.length === before + 2 && events(fx.logs, 'delivery.final').length === 2);
      expect(events(fx.logs, 'delivery.final').map((l) => l.hop).sort()).toEqual([`implicit.test[127.0.0.1]:${mx.port}`, `mx.dest.test[127.0.0.1]:${mx.port}`]);
    } finally {
      await fx.close();
    }
  });

  it("follows a script's gateway that names a domain with only MX records to its MX hosts, at the gateway's port", async () => {
    const config = configFor(conf(), '/tmp/x').delivery;
    const hops = new NextHops(config);
    const viaMx = await hops.targets(destinationFor('a@other.test', config, parseGateway('relay-domain.test:2600')!));
    expect(viaMx).toEqual({ ok: true, targets: [{ name: 'in.relay-domain.test', address: '127.0.0.1', port: 2600 }] });
    // A host with an address is that address, whatever its MX records say (sieve-ref-ec-set-routing-gateway.md names the A record first).
    expect(await hops.targets(destinationFor('a@other.test', config, parseGateway('relay-host.test')!))).toEqual({ ok: true, targets: [{ name: 'relay-host.test', address: '127.0.0.1', port: mx.port }] });
    // A name that does not resolve at all is retried (the configuration's fault), not bounced.
    expect(await hops.targets(destinationFor('a@other.test', config, parseGateway('nowhere.test')!))).toMatchObject({ ok: false, permanent: false, reply: { enhanced: '4.4.3' } });
    // The Gateway option names a host: a domain with only MX records is not followed there.
    const configured = configFor(`${conf()}\nDomain "other.test" { Gateway = "relay-domain.test" }`, '/tmp/x').delivery;
    expect(await new NextHops(configured).targets(destinationFor('a@other.test', configured))).toMatchObject({ ok: false, permanent: false, reply: { enhanced: '4.4.3' } });
  });

  it('bounces a null-MX domain (5.1.10) and a domain whose MX is private (5.4.4) without contacting them', async () => {
    const fx = await openQueue(conf());
    try {
      const before = senderMx.messages.length;
      await fx.queue.add([message('alice@sender.test', ['a@nullmx.test', 'b@private.test'])]);
      await until(() => senderMx.messages.length === before + 1);
      const report = parseDsn(senderMx.messages.at(-1)!.data);
      const byRcpt = new Map(report.recipients.map((r) => [r.get('final-recipient'), r]));
      expect(byRcpt.get('rfc822; a@nullmx.test')?.get('status')).toBe('5.1.10');
      expect(byRcpt.get('rfc822; b@private.test')?.get('status')).toBe('5.4.4');
      expect(byRcpt.get('rfc822; a@nullmx.test')?.get('remote-mta')).toBeUndefined();
    } finally {
      await fx.close();
    }
  });
});

describe("mail_loop's use_ip: no delivery to this server itself", () => {
  const conf = (routing: string, loop = 'mail_loop { use_ip = true }') =>
    configFor(`ESMTP_Listener { Listen "127.0.0.1:2599" { } }\n${loop}\n${routing}`, '/tmp/x');

  it('refuses a gateway at one of our addresses on a port we listen on, 554 5.4.6, without connecting', async () => {
    const config = conf('Gateway = "127.0.0.1:2599"');
    expect(config.delivery.selfPorts).toEqual([2599]);
    const r = await new NextHops(config.delivery).targets(destinationFor('a@other.test', config.delivery));
    expect(r).toEqual({ ok: false, permanent: true, reply: { code: 554, enhanced: '5.4.6', text: 'mail for gateway 127.0.0.1 loops back to this server' } });
  });

  it('lets a next hop on this machine at another port through (a local MTA), and checks nothing without use_ip', async () => {
    const other = conf('Gateway = "127.0.0.1:2526"');
    expect(await new NextHops(other.delivery).targets(destinationFor('a@other.test', other.delivery))).toMatchObject({ ok: true, targets: [{ address: '127.0.0.1', port: 2526 }] });
    const off = conf('Gateway = "127.0.0.1:2599"', 'mail_loop { }');
    expect(off.delivery.selfPorts).toBeUndefined();
    expect(await new NextHops(off.delivery).targets(destinationFor('a@other.test', off.delivery))).toMatchObject({ ok: true });
  });

  it('refuses MX hosts that are all this server', async () => {
    const dns = await startDnsServer(oneMx('loop.test'));
    try {
      const config = conf(`Delivery_Method = ESMTP\nRemote_SMTP_Port = 2599\ndelivery_dns_servers = ( "${dns.address}" )\ndelivery_allow_targets = ( 127.0.0.0/8 )`);
      const r = await new NextHops(config.delivery).targets(destinationFor('a@loop.test', config.delivery));
      expect(r).toMatchObject({ ok: false, permanent: true, reply: { code: 554, enhanced: '5.4.6', text: 'mail for loop.test loops back to this server' } });
    } finally {
      await dns.close();
    }
  });
});
