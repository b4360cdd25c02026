/**
 * A scripted authoritative DNS server on 127.0.0.1 (UDP, port 0) for tests,
 * built on dns-packet over dgram. Real packets, a real socket: node's
 * resolver talks to it through `Resolver#setServers(['127.0.0.1:PORT'])`.
 *
 * A name in the zone answers the types it has and NODATA (NOERROR, no
 * answer) for the rest, as does the top-level domain of any name in the zone;
 * TXT records (SPF, DKIM keys, DMARC policies) are split into 255-octet
 * strings as on the wire; a name not in the zone is NXDOMAIN; `servfail` makes
 * every (or the listed) query type SERVFAIL; `silent` never answers (timeout).
 */
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface ZoneEntry {
  MX?: Array<{ preference: number; exchange: string }>;
  A?: string[];
  AAAA?: string[];
  /** TXT records, one string each (split into 255-octet character-strings on the wire, RFC 1035 3.3.14). */
  TXT?: string[];
  servfail?: true | Array<'MX' | 'A' | 'AAAA' | 'TXT'>;
  silent?: true;
  /** A slow DNS server: answer only once this settles (the test decides when). */
  hold?: Promise<unknown>;
  /** TTL of this name's records (seconds); default 60. */
  ttl?: number;
}

export type Zone = Record<string, ZoneEntry>;

export interface TestDnsServer {
  /** `127.0.0.1:PORT`, for setServers / --dns-server. */
  address: string;
  port: number;
  /** Every question asked, as `TYPE name`. */
  queries: string[];
  /** Mutable: tests may change it between checks. */
  zone: Zone;
  /** Mutable: when set, NXDOMAIN and NODATA answers carry an SOA whose TTL and MINIMUM are this (RFC 2308 3). */
  negativeTtl?: number;
  close(): Promise<void>;
}

const RCODE_SERVFAIL = 2;

/** A TXT record's text as the character-strings it travels in: at most 255 octets each. */
function chunks(text: string): Buffer[] {
  const b = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += 255) out.push(b.subarray(i, i + 255));
  return out.length ? out : [Buffer.alloc(0)];
}
const RCODE_NXDOMAIN = 3;

/** The SOA a negative answer carries (RFC 2308 3), its TTL and MINIMUM both `ttl`. */
function negativeSoa(name: string, ttl: number): dnsPacket.Answer {
  const apex = name.split('.').slice(-2).join('.');
  return { type: 'SOA', name: apex, ttl, data: { mname: `ns.${apex}`, rname: `hostmaster.${apex}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: ttl } };
}

export async function startDnsServer(zone: Zone): Promise<TestDnsServer> {
  const socket: Socket = createSocket('udp4');
  const server: TestDnsServer = {
    address: '',
    port: 0,
    queries: [],
    zone,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, rinfo) => {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const q = query.questions?.[0];
    if (!q) return;
    const name = q.name.toLowerCase().replace(/\.$/, '');
    server.queries.push(`${q.type} ${name}`);
    // A top-level domain of any name in the zone exists (NODATA for every type), as on the real DNS.
    const entry = server.zone[name] ?? (!name.includes('.') && Object.keys(server.zone).some((n) => n.endsWith(`.${name}`)) ? {} : undefined);
    if (entry?.silent) return;
    let rcode = 0;
    const answers: dnsPacket.Answer[] = [];
    const ttl = entry?.ttl ?? 60;
    if (!entry) rcode = RCODE_NXDOMAIN;
    else if (entry.servfail === true || (Array.isArray(entry.servfail) && entry.servfail.includes(q.type as 'MX'))) rcode = RCODE_SERVFAIL;
    else if (q.type === 'MX') for (const mx of entry.MX ?? []) answers.push({ type: 'MX', name: q.name, ttl, data: mx });
    else if (q.type === 'A') for (const a of entry.A ?? []) answers.push({ type: 'A', name: q.name, ttl, data: a });
    else if (q.type === 'AAAA') for (const a of entry.AAAA ?? []) answers.push({ type: 'AAAA', name: q.name, ttl, data: a });
    else if (q.type === 'TXT') for (const t of entry.TXT ?? []) answers.push({ type: 'TXT', name: q.name, ttl, data: chunks(t) });
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id,
      // dns-packet takes the RCODE in the low 4 bits of flags; AA (0x400) set.
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | rcode,
      questions: [q],
      answers,
      authorities: !answers.length && rcode !== RCODE_SERVFAIL && server.negativeTtl !== undefined ? [negativeSoa(name, server.negativeTtl)] : [],
    });
    if (entry?.hold) void entry.hold.then(() => socket.send(response, rinfo.port, rinfo.address));
    else socket.send(response, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  server.port = socket.address().port;
  server.address = `127.0.0.1:${server.port}`;
  return server;
}
