/**
 * One DNS question to the configured servers, answered with its TTL, for
 * the authentication checks' answer cache (dns-cache.ts). Node's Resolver
 * hides the TTLs of TXT and MX answers, which a cache must respect, so the
 * question is asked here with dns-packet over a UDP socket (EDNS0, RFC 6891,
 * so a 2048-bit DKIM key fits), again over TCP when the answer comes back
 * truncated (RFC 7766 5).
 *
 * The answers have the shapes of `dns.promises.resolve`, and failures carry
 * node's codes, which mailauth reads to tell "no record" (ENOTFOUND,
 * ENODATA) from a failed look-up (ESERVFAIL, ETIMEOUT, EREFUSED: a
 * temperror, RFC 7208 2.6.6). A negative answer carries how long it may be
 * cached: the SOA's TTL bounded by its MINIMUM field (RFC 2308 5).
 */
import { randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { getServers } from 'node:dns';
import { connect, isIP } from 'node:net';
import dnsPacket from 'dns-packet';

export type ResolveAnswer = string[][] | string[] | Array<{ exchange: string; priority: number }>;

export interface TtlAnswer {
  value: ResolveAnswer;
  /** Seconds: the smallest TTL in the answer section (a CNAME chain included). */
  ttl: number;
}

export interface DnsQueryOptions {
  /** "ip", "ip:port" or "[ipv6]:port"; empty: the system's resolvers. */
  servers?: readonly string[];
  /** Deadline of one try at one server. */
  timeoutMs: number;
  /** Rounds over the servers. */
  tries: number;
}

export class DnsQueryError extends Error {
  constructor(
    message: string,
    /** node's code: ENOTFOUND (NXDOMAIN), ENODATA, ESERVFAIL, EREFUSED, ETIMEOUT, EBADRESP... */
    readonly code: string,
    /** Seconds a negative answer may be cached (RFC 2308 5); absent when the server sent no SOA. */
    readonly negativeTtl?: number,
  ) {
    super(message);
  }
}

/** RFC 6891 6.2.5: 1232 octets avoids IP fragmentation on any path (the DNS flag day 2020 value). */
const UDP_PAYLOAD = 1232;
const RCODE_CODES: Record<string, string> = { NXDOMAIN: 'ENOTFOUND', SERVFAIL: 'ESERVFAIL', REFUSED: 'EREFUSED', FORMERR: 'EFORMERR', NOTIMP: 'ENOTIMP' };

interface Server {
  host: string;
  port: number;
}

export function parseServer(s: string): Server {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracketed) return { host: bracketed[1]!, port: Number(bracketed[2] ?? 53) };
  if (isIP(s) === 6) return { host: s, port: 53 };
  const i = s.lastIndexOf(':');
  return i > 0 ? { host: s.slice(0, i), port: Number(s.slice(i + 1)) } : { host: s, port: 53 };
}

export async function queryDns(name: string, type: string, opts: DnsQueryOptions): Promise<TtlAnswer> {
  const servers = (opts.servers?.length ? opts.servers : getServers()).map(parseServer);
  let last: DnsQueryError = new DnsQueryError(`query${type} ETIMEOUT ${name}`, 'ETIMEOUT');
  for (let round = 0; round < Math.max(1, opts.tries); round++) {
    for (const server of servers) {
      let response: dnsPacket.Packet;
      try {
        response = await ask(server, name, type, opts.timeoutMs);
      } catch (e) {
        last = e instanceof DnsQueryError ? e : new DnsQueryError(`query${type} ECONNREFUSED ${name}: ${(e as Error).message}`, 'ECONNREFUSED');
        continue;
      }
      const outcome = interpret(response, name, type);
      // A server that failed or refused may be alone in that: the next one is asked, as c-ares does.
      if (outcome instanceof DnsQueryError && (outcome.code === 'ESERVFAIL' || outcome.code === 'EREFUSED')) {
        last = outcome;
        continue;
      }
      if (outcome instanceof DnsQueryError) throw outcome;
      return outcome;
    }
  }
  throw last;
}

function interpret(response: dnsPacket.Packet, name: string, type: string): TtlAnswer | DnsQueryError {
  const rcode = (response as { rcode?: string }).rcode ?? 'NOERROR';
  const soa = response.authorities?.find((a) => a.type === 'SOA') as dnsPacket.SoaAnswer | undefined;
  const negativeTtl = soa ? Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0) : undefined;
  if (rcode !== 'NOERROR') return new DnsQueryError(`query${type} ${RCODE_CODES[rcode] ?? 'EBADRESP'} ${name}`, RCODE_CODES[rcode] ?? 'EBADRESP', rcode === 'NXDOMAIN' ? negativeTtl : undefined);
  const answers = (response.answers ?? []).filter((a) => a.type === type);
  if (!answers.length) return new DnsQueryError(`query${type} ENODATA ${name}`, 'ENODATA', negativeTtl);
  const ttl = Math.min(...(response.answers ?? []).filter((a) => a.type === type || a.type === 'CNAME').map((a) => (a as { ttl?: number }).ttl ?? 0));
  return { value: answers.map((a) => shape(a)) as ResolveAnswer, ttl };
}

/** The shape `dns.promises.resolve` gives each record. */
function shape(a: dnsPacket.Answer): unknown {
  if (a.type === 'TXT') return (Array.isArray(a.data) ? a.data : [a.data]).map((s) => (typeof s === 'string' ? s : s.toString('utf8')));
  if (a.type === 'MX') return { exchange: a.data.exchange, priority: a.data.preference ?? 0 };
  return (a as { data: unknown }).data;
}

function query(name: string, type: string): { id: number; packet: dnsPacket.Packet } {
  const id = randomInt(0, 0x10000);
  return {
    id,
    packet: {
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: type as dnsPacket.RecordType, name }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    },
  };
}

/** A response is ours when its id and question match (RFC 5452 9.1), whatever else reaches the socket. */
function matches(r: dnsPacket.Packet, id: number, name: string, type: string): boolean {
  const q = r.questions?.[0];
  return r.type === 'response' && r.id === id && !!q && q.type === type && q.name.toLowerCase() === name.toLowerCase().replace(/\.$/, '');
}

async function ask(server: Server, name: string, type: string, timeoutMs: number): Promise<dnsPacket.Packet> {
  const r = await overUdp(server, name, type, timeoutMs);
  return r.flags !== undefined && r.flags & dnsPacket.TRUNCATED_RESPONSE ? overTcp(server, name, type, timeoutMs) : r;
}

/**
 * One UDP socket per address family for every question in flight, as
 * c-ares keeps one per server: a socket made and closed per question cost
 * more than the question. Answers are told apart by id, question and the
 * server they come from (RFC 5452 9.1); the socket does not keep the
 * process alive.
 */
interface Waiting {
  server: Server;
  name: string;
  type: string;
  resolve(r: dnsPacket.Packet): void;
}
const channels = new Map<'udp4' | 'udp6', { socket: Socket; waiting: Map<number, Waiting> }>();

function channel(family: 'udp4' | 'udp6') {
  let c = channels.get(family);
  if (c) return c;
  const socket = createSocket(family);
  const waiting = new Map<number, Waiting>();
  c = { socket, waiting };
  channels.set(family, c);
  socket.unref();
  socket.on('message', (msg, rinfo) => {
    let r: dnsPacket.Packet;
    try {
      r = dnsPacket.decode(msg);
    } catch {
      return;
    }
    const w = r.id === undefined ? undefined : waiting.get(r.id);
    if (!w || rinfo.port !== w.server.port || !matches(r, r.id!, w.name, w.type)) return;
    waiting.delete(r.id!);
    w.resolve(r);
  });
  // A broken socket is dropped; the questions on it time out and the next ones get a new socket.
  socket.on('error', () => {
    if (channels.get(family)?.socket === socket) channels.delete(family);
    socket.close();
  });
  return c;
}

function overUdp(server: Server, name: string, type: string, timeoutMs: number): Promise<dnsPacket.Packet> {
  const { waiting, socket } = channel(isIP(server.host) === 6 ? 'udp6' : 'udp4');
  let { id, packet } = query(name, type);
  while (waiting.has(id)) ({ id, packet } = query(name, type));
  return new Promise<dnsPacket.Packet>((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      reject(new DnsQueryError(`query${type} ETIMEOUT ${name}`, 'ETIMEOUT'));
    }, timeoutMs);
    waiting.set(id, {
      server,
      name,
      type,
      resolve: (r) => {
        clearTimeout(timer);
        resolve(r);
      },
    });
    socket.send(dnsPacket.encode(packet), server.port, server.host, (e) => {
      if (!e) return;
      clearTimeout(timer);
      waiting.delete(id);
      reject(e);
    });
  });
}

function overTcp(server: Server, name: string, type: string, timeoutMs: number): Promise<dnsPacket.Packet> {
  const { id, packet } = query(name, type);
  const socket = connect({ host: server.host, port: server.port });
  return new Promise<dnsPacket.Packet>((resolve, reject) => {
    socket.setTimeout(timeoutMs, () => reject(new DnsQueryError(`query${type} ETIMEOUT ${name}`, 'ETIMEOUT')));
    socket.on('error', reject);
    socket.on('close', () => reject(new DnsQueryError(`query${type} EBADRESP ${name}: connection closed`, 'EBADRESP')));
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      // RFC 1035 4.2.2: each message is preceded by its two-octet length.
      if (buffered.length < 2 || buffered.length < 2 + buffered.readUInt16BE(0)) return;
      try {
        const r = dnsPacket.streamDecode(buffered);
        if (matches(r, id, name, type)) resolve(r);
        else reject(new DnsQueryError(`query${type} EBADRESP ${name}`, 'EBADRESP'));
      } catch (e) {
        reject(new DnsQueryError(`query${type} EBADRESP ${name}: ${(e as Error).message}`, 'EBADRESP'));
      }
    });
    socket.write(dnsPacket.streamEncode(packet));
  }).finally(() => socket.destroy());
}
