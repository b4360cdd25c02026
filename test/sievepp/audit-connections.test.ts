/**
 * audit_connections_on_listener, audit_connections_on_service and
 * audit_service (src/sievepp/functions/audit-connections.ts) over a host
 * whose counts are a real LocalConnections.
 */
import { describe, expect, it } from 'vitest';
import { parseAddressMask } from '../../src/sievepp/functions/audit-connections.js';
import type { MomentumHost } from '../../src/sievepp/host.js';
import { LocalConnections } from '../../src/store/connections.js';
import { compileErrors, runPP, valueOf } from './helpers.js';

const L = '127.0.0.1:25';

/** A host over `c`, the session on listener `L` (or on none). */
function hostOver(c: LocalConnections, listener: string | null = L): MomentumHost {
  return { liveConnections: (ip, mask, on) => (on === 'service' ? c.inBlock(ip, mask) : listener === null ? undefined : c.inBlock(ip, mask, listener)) };
}

const conn = (ip: string) => ({ connection: new Map([['remote_ip', ip]]) });

describe('audit_connections_on_*', () => {
  const c = new LocalConnections();
  for (const ip of ['192.0.2.3', '192.0.2.3', '192.0.2.9']) c.open(ip, L);
  c.open('192.0.2.3', '127.0.0.1:587');
  c.open('2001:db8::1', L);
  c.open('2001:db8::2', '127.0.0.1:587');

  it('reads "addr/mask", "/mask", "addr" and "[v6]/mask"', () => {
    expect(parseAddressMask('/24')).toEqual({ address: undefined, mask: 24 });
    expect(parseAddressMask('192.0.2.0/24')).toEqual({ address: '192.0.2.0', mask: 24 });
    expect(parseAddressMask('[2001:db8::]/48')).toEqual({ address: '2001:db8::', mask: 48 });
    expect(parseAddressMask('2001:db8::/48')).toEqual({ address: '2001:db8::', mask: 48 });
    expect(parseAddressMask('192.0.2.1')).toEqual({ address: '192.0.2.1', mask: undefined });
    expect(parseAddressMask('192.0.2.0/33')).toBe("the mask /33 is longer than the IPv4 address's 32 bits");
    expect(parseAddressMask('/129')).toBe("the mask /129 is longer than an IPv6 address's 128 bits");
    expect(parseAddressMask('')).toBe("'' names neither an address nor a mask");
    expect(parseAddressMask('example.com/24')).toBe("'example.com' is not an IP address");
  });

  it("count the client's block, or the one named, on the listener or on every listener, as a list of one string", async () => {
    const host = hostOver(c);
    const script = '($l32) = audit_connections_on_listener "/32"; ($s32) = audit_connections_on_service "/32"; ($l24) = audit_connections_on_listener "/24"; ($s24) = audit_connections_on_service "/24"; $list = audit_connections_on_service "192.0.2.0/24"; $named = audit_connections_on_service "192.0.2.9";';
    expect(await valueOf(script, 'l32', { host, ...conn('192.0.2.3') })).toBe('2');
    expect(await valueOf(script, 's32', { host, ...conn('192.0.2.3') })).toBe('3');
    expect(await valueOf(script, 'l24', { host, ...conn('192.0.2.3') })).toBe('3');
    expect(await valueOf(script, 's24', { host, ...conn('192.0.2.3') })).toBe('4');
    expect(await valueOf(script, 'list', { host, ...conn('192.0.2.3') })).toEqual(['4']);
    expect(await valueOf(script, 'named', { host, ...conn('198.51.100.1') })).toEqual(['1']);
    // IPv6: the client's /64, on the listener and on every one.
    expect(await valueOf('($n) = audit_connections_on_listener "/64";', 'n', { host, ...conn('2001:db8::7') })).toBe('1');
    expect(await valueOf('($n) = audit_connections_on_service "/64";', 'n', { host, ...conn('2001:db8::7') })).toBe('2');
    expect(await valueOf('($n) = audit_connections_on_service "[2001:db8::1]";', 'n', { host })).toBe('1');
  });

  it('audit_service: SMTP and inbound_cidr count as on_service; the services smtp-cbv does not run have no connection', async () => {
    const host = hostOver(c);
    expect(await valueOf('($n) = audit_service "SMTP" "/24";', 'n', { host, ...conn('192.0.2.3') })).toBe('4');
    expect(await valueOf('($n) = audit_service "inbound_cidr" "/32";', 'n', { host, ...conn('192.0.2.3') })).toBe('3');
    expect(await valueOf('($n) = audit_service "ECStream" "/32";', 'n', { host, ...conn('192.0.2.3') })).toBe('0');
  });

  it('bad literal arguments are compile errors at the argument; bad values at run time are runtime errors', async () => {
    expect(compileErrors('($n) = audit_connections_on_listener "/33x";')).toEqual([`1:38: audit_connections_on_listener: '/33x' is not an address/mask such as "/24" or "192.0.2.0/24"`]);
    expect(compileErrors('($n) = audit_connections_on_service "10.0.0.0/40";')).toEqual(["1:37: audit_connections_on_service: the mask /40 is longer than the IPv4 address's 32 bits"]);
    expect(compileErrors('($n) = audit_service "POP3" "/32";')).toEqual(["1:22: audit_service: 'POP3' is not a service Momentum audits (SMTP, inbound_cidr, ECStream, Control, ECmmove2, ECCluster)"]);
    const errors = async (s: string, o: object) => (await runPP(s, o)).errors.map((e) => e.message);
    expect(await errors('$m = "/64"; ($n) = audit_connections_on_listener "${m}";', { host: hostOver(c), ...conn('192.0.2.3') })).toEqual(["audit_connections_on_listener: the mask /64 is longer than the client's IPv4 address's 32 bits"]);
    expect(await errors('($n) = audit_connections_on_listener "/32";', { host: hostOver(c, null), ...conn('192.0.2.3') })).toEqual(['audit_connections_on_listener: this session came in on no SMTP listener']);
    expect(await errors('($n) = audit_connections_on_service "/32";', conn('192.0.2.3'))).toEqual(['audit_connections_on_service: this host counts no connections']);
  });
});
