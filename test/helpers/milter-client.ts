/**
 * The MTA's side of the milter protocol over a real socket (what Postfix
 * does): negotiate, send events with their macros, read the responses,
 * skipping the replies the milter said it would not send.
 */
import { FrameDecoder } from '../../src/frontdoors/milter/frames.js';
import { SocketPeer } from './socket-peer.js';
import { decodeResponse, encodeCommand, type MilterCommand, type MilterResponse, Protocol } from '../../src/frontdoors/milter/messages.js';

/** What Postfix 3.x offers: version 6, every action, every protocol step and flag. */
export const POSTFIX_OFFER = { version: 6, actions: 0x1ff, protocol: 0x1fffff };

const FINAL = new Set(['continue', 'accept', 'reject', 'tempfail', 'discard', 'replycode', 'skip', 'optneg']);

/** The SMFIP_NR_* flag that spares the reply to each event. */
const NO_REPLY: Partial<Record<MilterCommand['kind'], number>> = {
  connect: Protocol.NR_CONN, helo: Protocol.NR_HELO, mail: Protocol.NR_MAIL, rcpt: Protocol.NR_RCPT, data: Protocol.NR_DATA,
  header: Protocol.NR_HDR, eoh: Protocol.NR_EOH, body: Protocol.NR_BODY, unknown: Protocol.NR_UNKN,
};
const SILENT = new Set<MilterCommand['kind']>(['macro', 'abort', 'quit', 'quit-nc']);

export class MilterClient extends SocketPeer {
  private readonly decoder = new FrameDecoder();
  private responses: MilterResponse[] = [];
  /** The protocol flags the milter chose. */
  protocol = 0;
  negotiated: Extract<MilterResponse, { kind: 'optneg' }> | null = null;

  protected received(data: Buffer): void {
    for (const f of this.decoder.push(data)) this.responses.push(decodeResponse(f));
  }

  static async open(port: number, host = '127.0.0.1'): Promise<MilterClient> {
    return new MilterClient(await SocketPeer.connectTo(port, host));
  }

  async negotiate(offer = POSTFIX_OFFER): Promise<Extract<MilterResponse, { kind: 'optneg' }>> {
    const [r] = await this.send({ kind: 'optneg', ...offer });
    if (r?.kind !== 'optneg') throw new Error(`expected optneg, got ${r?.kind}`);
    this.protocol = r.protocol;
    this.negotiated = r;
    return r;
  }

  /** Sends one event; resolves with the responses up to the final one, or [] when none is due. */
  async send(cmd: MilterCommand, macros?: Array<[string, string]>): Promise<MilterResponse[]> {
    if (macros?.length) this.socket.write(encodeCommand({ kind: 'macro', for: codeOf(cmd), macros }));
    this.socket.write(encodeCommand(cmd));
    const nr = NO_REPLY[cmd.kind];
    if (SILENT.has(cmd.kind) || (nr !== undefined && this.protocol & nr)) return [];
    const out: MilterResponse[] = [];
    for (;;) {
      const r = this.responses.shift();
      if (r) {
        out.push(r);
        if (FINAL.has(r.kind)) return out;
        continue;
      }
      if (this.closed) throw new Error(`connection closed after ${cmd.kind}`);
      await this.more();
    }
  }

}

function codeOf(cmd: MilterCommand): string {
  return encodeCommand(cmd).subarray(4, 5).toString('latin1');
}

export interface MtaTransaction {
  client?: { address: string; port: number; name?: string };
  helo?: string;
  from: string;
  to: string[];
  /** RFC 5322 text, CRLF line ends. */
  message?: string;
  macros?: { connect?: Array<[string, string]>; helo?: Array<[string, string]>; mail?: Array<[string, string]> };
}

export interface MtaResult {
  connect: MilterResponse[];
  helo: MilterResponse[];
  mail: MilterResponse[];
  rcpts: MilterResponse[][];
  /** End of message: edits then the final response; absent when no recipient was accepted. */
  eom?: MilterResponse[];
}

/** The largest SMFIC_BODY chunk of the milter protocol (MILTER_CHUNK_SIZE), which Postfix sends. */
export const MILTER_CHUNK_SIZE = 65535;

const refused = (rs: MilterResponse[]) => rs.some((r) => r.kind === 'replycode' || r.kind === 'reject' || r.kind === 'tempfail');

/** One SMTP session as Postfix reports it to its milter: connect, HELO, MAIL, each RCPT, then the message. */
export async function playTransaction(c: MilterClient, t: MtaTransaction): Promise<MtaResult> {
  const client = t.client ?? { address: '127.0.0.1', port: 40000 };
  const result: MtaResult = { connect: [], helo: [], mail: [], rcpts: [] };
  result.connect = await c.send({ kind: 'connect', hostname: client.name ?? 'localhost', family: 'inet', port: client.port, address: client.address }, t.macros?.connect ?? [['j', 'mx.test']]);
  if (refused(result.connect)) return result;
  result.helo = await c.send({ kind: 'helo', name: t.helo ?? 'client.test' }, t.macros?.helo);
  if (refused(result.helo)) return result;
  result.mail = await c.send({ kind: 'mail', args: [`<${t.from}>`] }, t.macros?.mail);
  if (refused(result.mail)) return result;
  let accepted = 0;
  for (const to of t.to) {
    const r = await c.send({ kind: 'rcpt', args: [`<${to}>`] });
    result.rcpts.push(r);
    if (!refused(r)) accepted++;
  }
  if (!accepted || t.message === undefined) {
    await c.send({ kind: 'abort' });
    return result;
  }
  await c.send({ kind: 'data' });
  const split = t.message.indexOf('\r\n\r\n');
  const head = split < 0 ? t.message : t.message.slice(0, split);
  const body = split < 0 ? '' : t.message.slice(split + 4);
  for (const field of head.split(/\r\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    await c.send({ kind: 'header', name: field.slice(0, colon), value: Buffer.from(field.slice(colon + 1)) });
  }
  await c.send({ kind: 'eoh' });
  // As Postfix does: the body in chunks of at most MILTER_CHUNK_SIZE.
  const octets = Buffer.from(body);
  for (let at = 0; at < octets.length; at += MILTER_CHUNK_SIZE) await c.send({ kind: 'body', chunk: octets.subarray(at, at + MILTER_CHUNK_SIZE) });
  result.eom = await c.send({ kind: 'eob', chunk: Buffer.alloc(0) });
  return result;
}
