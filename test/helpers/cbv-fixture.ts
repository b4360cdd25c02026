/**
 * Wiring for CBV tests: an engine that asks the test DNS server, connects to
 * the test remote's port, allow-lists loopback (the only place tests may
 * connect) and uses short timeouts so the suite stays fast.
 */
import { pino } from 'pino';
import { createCbvEngine, type CbvEngine, type CbvOptions } from '../../src/cbv/index.js';
import type { TestDnsServer, Zone } from './dns-server.js';

/** A zone where `<domain>` has one MX, `mx.<domain>`, at `ip`. */
export function oneMx(domain: string, ip = '127.0.0.1'): Zone {
  return {
    [domain]: { MX: [{ preference: 10, exchange: `mx.${domain}` }] },
    [`mx.${domain}`]: { A: [ip] },
  };
}

export const FAST = {
  dnsTimeoutMs: 500,
  dnsTries: 1,
  connectTimeoutMs: 1000,
  greetingTimeoutMs: 1000,
  commandTimeoutMs: 1000,
  quitWaitMs: 200,
  timeout: 5,
} satisfies CbvOptions;

export function testEngine(dns: TestDnsServer, port: number, extra: CbvOptions = {}): CbvEngine {
  return createCbvEngine({
    dnsServers: [dns.address],
    port,
    allowTargets: ['127.0.0.0/8'],
    helo: 'probe.test',
    logger: pino({ level: 'silent' }),
    ...FAST,
    ...extra,
  });
}

/** The transcript as text, for assertions about what was said. */
export function said(v: { transcript: Array<{ dir: string; text: string }> }): string[] {
  return v.transcript.filter((l) => l.dir === 'C').map((l) => l.text);
}
