/**
 * The long-lived services: Momentum's Debug_Level gives smtp_cbv its own
 * log level; a reload keeps the CBV engine when its options did not change,
 * and rebuilds it over the same cache when they did; the recipient
 * call-ahead and the named throttles are one object each for the life of
 * the process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { MaildirSpool } from '../../src/delivery/maildir.js';
import { createServices } from '../../src/server/services.js';
import type { NamedThrottles } from '../../src/sievepp/throttles.js';
import { ConnectionState, Transaction } from '../../src/session/state.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-services-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(JSON.parse(String(chunk)));
      cb();
    },
  });
  return { lines, logger: pino({ level: 'warn' }, stream) };
}

const connection = () => new ConnectionState({ id: 's', remoteAddress: '127.0.0.1', remotePort: 1, localAddress: '127.0.0.1', localPort: 2, tls: false, hostname: 'mx.test', banner: '' });
const config = (text: string) => parseConfigText(text, join(dir, 'x.conf')).config!;

describe('services', () => {
  it('gives smtp_cbv its own log level with Debug_Level, and the global level without it', async () => {
    for (const [block, expected] of [['Debug_Level = "debug"', 1], ['', 0]] as const) {
      const { lines, logger } = capture();
      const services = createServices(config(`smtp_cbv "c" { ${block} }\n`), logger, new MaildirSpool(dir));
      services.cbv!.accepted('mailfrom', connection(), new Transaction('', 's.1')); // the null sender: a debug-level cbv.skip event
      expect(lines.filter((l) => l.event === 'cbv.skip')).toHaveLength(expected);
    }
  });

  it('a reload keeps the engine when smtp_cbv did not change, and rebuilds it (saying so) when it did', () => {
    const { lines, logger } = capture();
    const services = createServices(config('smtp_cbv "c" { timeout = 5 }\n'), logger.child({}, { level: 'info' }), new MaildirSpool(dir));
    const first = services.cbv!.verifier;
    services.reconfigure(config('smtp_cbv "c" { timeout = 5 }\n'));
    expect(services.cbv!.verifier).toBe(first);
    services.reconfigure(config('smtp_cbv "c" { timeout = 7 }\n'));
    expect(services.cbv!.verifier).not.toBe(first);
    expect(services.cbv!.options.deadlineMs).toBe(7000);
    expect(lines.filter((l) => l.event === 'reconfigure')).toHaveLength(1);
  });

  it('the named throttles and gauge caches live across a reload that opens the Sieve++ services afresh (a changed Datasource)', () => {
    const { logger } = capture();
    const services = createServices(config('Datasource "a" { uri = ( "csv:" ) }\n'), logger, new MaildirSpool(dir));
    const before = services.momentum!;
    before.throttles!.create('t', { messages: 1, seconds: 60 }, 0);
    services.reconfigure(config('Datasource "b" { uri = ( "csv:" ) }\n'));
    expect(services.momentum).not.toBe(before);
    expect(services.momentum!.throttles).toBe(before.throttles);
    expect(services.momentum!.throttles!.exceeded('t', 1)).toBe(false);
    // And so do the gauge caches, with what they counted.
    before.gauges!.init('g', { size: 10, ttlSeconds: 60 });
    before.gauges!.inc('g', 'k', 0);
    services.reconfigure(config('Datasource "c" { uri = ( "csv:" ) }\n'));
    expect(services.momentum!.gauges).toBe(before.gauges);
    expect(services.momentum!.gauges!.get('g', 'k', 1)).toBe(1);
    // siv_throttle_cache_size: Momentum's option, 1000 by default.
    expect((services.momentum!.throttles as NamedThrottles).capacity).toBe(1000);
    expect((createServices(config('siv_throttle_cache_size = 20\n'), logger, new MaildirSpool(dir)).momentum!.throttles as NamedThrottles).capacity).toBe(20);
  });

  it('a reload that changes only the opendkim scope takes its new settings (ec_dkim_sign and the module\'s own signing read them)', () => {
    const { logger } = capture();
    const services = createServices(config('opendkim { selector = "old" sign_condition = "auth_user" }\n'), logger, new MaildirSpool(dir));
    expect(services.momentum!.dkim?.selector).toBe('old');
    services.reconfigure(config('opendkim { selector = "new" dkim_domain "a.test" { selector = "a" } }\nopendkim_sign = false\n'));
    expect(services.momentum!.dkim?.selector).toBe('new');
    expect(services.momentum!.dkimDomains?.get('a.test')).toEqual({ selector: 'a' });
    expect(services.momentum!.dkimAutoSign).toBeUndefined();
  });

  it('the recipient call-ahead lives across reloads, with or without smtp_cbv, and the Sieve function finds it', () => {
    const { lines, logger } = capture();
    const services = createServices(config('Gateway = "127.0.0.1:25"\nRecipient_Verify = true\n'), logger.child({}, { level: 'info' }), new MaildirSpool(dir));
    const verifier = services.recipients!.verifier;
    expect(services.functionServices['recipient-verify']).toBe(verifier);
    expect(verifier.notAsked('a@b.test')).toBeUndefined();
    services.reconfigure(config('Gateway = "127.0.0.1:25"\nsmtp_cbv { }\n'));
    expect(services.recipients!.verifier).toBe(verifier);
    expect(services.functionServices['recipient-verify']).toBe(verifier);
    expect(verifier.notAsked('a@b.test')).toBe('off');
    services.reconfigure(config('Gateway = "127.0.0.1:25"\nRecipient_Verify = true\nrecipient_verify_timeout = 9\n'));
    expect(services.functionServices['recipient-verify']).toBe(verifier);
    expect(lines.filter((l) => l.event === 'reconfigure' && l.service === 'recipient-verify')).toHaveLength(1);
  });
});
