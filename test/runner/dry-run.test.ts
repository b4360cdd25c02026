/**
 * dryRun as a policy author uses it from vitest: the example configuration
 * (examples/smtp-cbv.conf) with CBV stubs, phase by phase, no network.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { dryRun } from '../../src/runner/index.js';

const exampleConfig = async () => {
  const { config, diagnostics } = await loadConfig(join(import.meta.dirname, '../../examples/smtp-cbv.conf'));
  if (!config) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return config;
};

describe('dryRun over the example policy', () => {
  it('accepts a verified sender through every phase and reports the verdict variables', async () => {
    const r = await dryRun({
      config: await exampleConfig(),
      envelope: { from: 'alice@sender.test', to: ['bob@here.test'] },
      message: 'From: alice@sender.test\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nSubject: hi\n\nhello\n',
      cbv: { addresses: { 'alice@sender.test': { status: 'pass', reply: '250 2.1.5 ok' } } },
    });
    expect(r.phases.map((p) => [p.phase, p.reply.code])).toEqual([['connect', 220], ['ehlo', 250], ['mailfrom', 250], ['rcptto', 250], ['data', 250]]);
    const rcpt = r.phases.find((p) => p.phase === 'rcptto')!;
    expect(rcpt.variables.message).toMatchObject({ smtp_cbv_result: 'pass', smtp_cbv_reply: '250 2.1.5 ok', rcptto_domain: 'here.test' });
    expect(r.phases.find((p) => p.phase === 'mailfrom')!.cbvCalls).toEqual([{ address: 'alice@sender.test', by: 'module', status: 'pass' }]);
    expect(r.phases.at(-1)!.delivery).toEqual({ stores: [{ folder: 'INBOX', recipients: ['bob@here.test'] }], redirects: [], vacations: [], notifications: [] });
  });

  it('gives the reply the server gives when the sender is refused, and stops the transaction at MAIL FROM for .invalid', async () => {
    const config = await exampleConfig();
    const ghost = await dryRun({ config, envelope: { from: 'ghost@sender.test', to: ['bob@here.test'] }, cbv: { default: { status: 'fail', reply: '550 5.1.1 no such user' } } });
    expect(ghost.phases.at(-1)!.replyText).toBe('550 5.7.1 Sender address rejected: verification failed (rejected)');
    const invalid = await dryRun({ config, envelope: { from: 'x@host.invalid', to: ['bob@here.test'] } });
    expect(invalid.phases.map((p) => p.phase)).toEqual(['connect', 'ehlo', 'mailfrom']);
    expect(invalid.phases.at(-1)!.replyText).toBe('550 5.7.1 sender domain cannot receive mail');
    expect(invalid.phases.at(-1)!.actions.map((a) => a.type)).toEqual(['reject']);
  });

  it('makes no probe without a stub: the missing stub is an error naming the address', async () => {
    const r = await dryRun({ config: await exampleConfig(), phases: ['mailfrom'], envelope: { from: 'who@nowhere.test', to: ['bob@here.test'] } });
    expect(r.phases.map((p) => p.phase)).toEqual(['mailfrom']);
    expect(r.phases[0]!.errors).toEqual(['smtp_callback_verify "who@nowhere.test": no CBV stub for this address (add one under cbv:)']);
  });

  it('runs scripts given as text, with the Sieve function answered by stubs and DNS by stubs', async () => {
    const r = await dryRun({
      scripts: {
        mailfrom: '$from = envelope "from";\n($s, $m) = smtp_callback_verify "${from}";\n$a = ec_dns_lookup "2.1.0.192.zen.example" "A";\nif ec_test :is "${s}" "transient" { ec_action 451 "4.7.1 later: ${m} ${a}"; }',
      },
      phases: ['mailfrom'],
      envelope: { from: 'a@b.test', to: ['c@d.test'] },
      cbv: { addresses: { 'a@b.test': { status: 'transient', reply: '450 greylisted' } } },
      dns: { '2.1.0.192.zen.example A': ['127.0.0.2'] },
      trace: true,
    });
    const p = r.phases[0]!;
    expect(p.replyText).toBe('451 4.7.1 later: 450 greylisted 127.0.0.2');
    expect(p.cbvCalls).toEqual([{ address: 'a@b.test', by: 'function', status: 'transient' }]);
    expect(p.dnsCalls).toEqual([{ name: '2.1.0.192.zen.example', type: 'A', answers: ['127.0.0.2'] }]);
    expect(p.trace.filter((t) => t.event.kind === 'test').map((t) => [t.event.name, t.event.pos.line, (t.event as { result: boolean }).result])).toEqual([['ec_test', 4, true]]);
  });

  it('counts its one session as the one connection open, for audit_connections_on_*', async () => {
    const r = await dryRun({
      scripts: { connect: '($l) = audit_connections_on_listener "/32";\n($s) = audit_connections_on_service "/24";\n($o) = audit_connections_on_service "198.51.100.0/24";\nec_action 421 "4.7.0 ${l} ${s} ${o}";' },
      phases: ['connect'],
      envelope: { from: 'a@b.test', to: ['c@d.test'] },
    });
    expect(r.phases[0]!.replyText).toBe('421 4.7.0 1 1 0');
  });

  it('reports compile errors with positions and runs nothing', async () => {
    const r = await dryRun({ scripts: { mailfrom: 'if header :is "Subject" "x" { discard; }' }, envelope: { from: 'a@b.test', to: ['c@d.test'] } });
    expect(r.phases).toEqual([]);
    expect(r.diagnostics.some((d) => d.severity === 'error' && d.file === 'mailfrom_phase1.siv' && d.line === 1)).toBe(true);
  });
});

describe('dryRun plays the spool and each_rcpt phases (docs/server.md, "Phases")', () => {
  const scripts = {
    data: 'ec_set_routing_gateway "data-relay.test";',
    spool: 'require "fileinto";\nif header :contains "subject" "quarterly" { fileinto "Reports"; }',
    each_rcpt: 'require ["envelope", "reject"];\nif envelope :localpart :is "to" "carol" { reject "no carol"; }\nif envelope :localpart :is "to" "dan" { ec_set_routing_gateway "dan-relay.test:2525"; }\n$to = envelope "to";\nec_log "each_rcpt for ${to}";',
  };
  const message = 'From: alice@sender.test\nSubject: quarterly\n\nnumbers\n';
  const envelope = { from: 'alice@sender.test', to: ['bob@here.test', 'carol@here.test', 'dan@here.test'] };

  it('reports spool once and each_rcpt once per recipient, with its recipient, after data; the plan has their choices', async () => {
    const r = await dryRun({ scripts, envelope, message, dns: {} });
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.phases.slice(-5).map((p) => [p.phase, p.recipient, p.reply.code])).toEqual([
      ['data', undefined, 250],
      ['spool', undefined, 250],
      ['each_rcpt', 'bob@here.test', 250],
      ['each_rcpt', 'carol@here.test', 550],
      ['each_rcpt', 'dan@here.test', 250],
    ]);
    const [data, spool, bob, carol, dan] = r.phases.slice(-5);
    expect(spool!.actions.map((a) => a.type)).toEqual(['store']);
    expect(carol!.replyText).toBe('550 5.7.1 no carol');
    expect(dan!.actions.map((a) => a.type)).toEqual(['routing_gateway']);
    expect(bob!.log).toEqual(['info: each_rcpt for bob@here.test']);
    expect(carol!.variables.message).toMatchObject({ rcptto_string: 'carol@here.test' });
    // spool's fileinto is every recipient's; carol is refused; dan's own gateway wins over DATA's.
    expect(data!.delivery).toMatchObject({ stores: [{ folder: 'Reports', recipients: ['bob@here.test', 'dan@here.test'] }], gateways: { 'bob@here.test': 'data-relay.test', 'dan@here.test': 'dan-relay.test:2525' } });
  });

  it('add_recipient in each_rcpt (where its Momentum page runs it) adds a recipient to the message', async () => {
    const r = await dryRun({ scripts: { each_rcpt: 'require "envelope";\nif envelope :localpart :is "to" "bob" { add_recipient "archive@here.test"; }' }, envelope, message });
    expect(r.phases.find((p) => p.phase === 'data')!.delivery!.stores).toEqual([{ folder: 'INBOX', recipients: ['bob@here.test', 'carol@here.test', 'dan@here.test', 'archive@here.test'] }]);
  });

  it('reports only the phases asked for, and a refusal at spool is the reply to the dot', async () => {
    const only = await dryRun({ scripts, envelope, message, phases: ['each_rcpt'] });
    expect(only.phases.map((p) => [p.phase, p.recipient])).toEqual([['each_rcpt', 'bob@here.test'], ['each_rcpt', 'carol@here.test'], ['each_rcpt', 'dan@here.test']]);
    const refused = await dryRun({ scripts: { spool: 'require "reject";\nreject "not at spool";', each_rcpt: 'keep;' }, envelope, message });
    expect(refused.phases.slice(-2).map((p) => [p.phase, p.replyText])).toEqual([['data', '550 5.7.1 not at spool'], ['spool', '550 5.7.1 not at spool']]);
  });
});
