/**
 * Milter messages, protocol version 6 (Sendmail's libmilter mfdef.h; the
 * MTA side as Postfix's MILTER_README describes it): what each frame's data
 * holds, both ways. Commands come from the MTA; responses go back.
 *
 * Data types on the wire: 32-bit big-endian integers, a 16-bit port in
 * network order, and C strings (bytes up to a NUL, which must be there).
 * A frame whose data does not have the shape its code needs is a
 * MilterProtocolError; an unknown command code is one too.
 *
 * Header values stay bytes (`Buffer`): the message is rebuilt from them
 * exactly as the MTA has it. Everything else is read as UTF-8.
 */
import { encodeFrame, type Frame, MilterProtocolError } from './frames.js';

export const MILTER_VERSION = 6;

/** SMFIF_*: what a milter may ask the MTA to do at end of message. */
export const Action = {
  ADDHDRS: 0x01,
  CHGBODY: 0x02,
  ADDRCPT: 0x04,
  DELRCPT: 0x08,
  CHGHDRS: 0x10,
  QUARANTINE: 0x20,
  CHGFROM: 0x40,
  ADDRCPT_PAR: 0x80,
  SETSYMLIST: 0x100,
} as const;

/** SMFIP_*: events the MTA need not send, replies the milter need not give, and protocol variants. */
export const Protocol = {
  NOCONNECT: 0x1,
  NOHELO: 0x2,
  NOMAIL: 0x4,
  NORCPT: 0x8,
  NOBODY: 0x10,
  NOHDRS: 0x20,
  NOEOH: 0x40,
  NR_HDR: 0x80,
  NOUNKNOWN: 0x100,
  NODATA: 0x200,
  SKIP: 0x400,
  RCPT_REJ: 0x800,
  NR_CONN: 0x1000,
  NR_HELO: 0x2000,
  NR_MAIL: 0x4000,
  NR_RCPT: 0x8000,
  NR_DATA: 0x10000,
  NR_UNKN: 0x20000,
  NR_EOH: 0x40000,
  NR_BODY: 0x80000,
  HDR_LEADSPC: 0x100000,
} as const;

/** SMFIM_*: the stages a milter can ask macros for, in the option negotiation reply. */
export const MacroStage = { connect: 0, helo: 1, mail: 2, rcpt: 3, data: 4, eom: 5, eoh: 6 } as const;
export type MacroStageName = keyof typeof MacroStage;

export type MilterCommand =
  | { kind: 'optneg'; version: number; actions: number; protocol: number }
  /** Macros for the command with code `for` (sent just before it); names without braces. */
  | { kind: 'macro'; for: string; macros: Array<[string, string]> }
  | { kind: 'connect'; hostname: string; family: 'inet' | 'inet6' | 'unix' | 'unknown'; port: number; address: string }
  | { kind: 'helo'; name: string }
  /** args[0] is the address as given, `<...>`; the rest are ESMTP parameters. */
  | { kind: 'mail'; args: string[] }
  | { kind: 'rcpt'; args: string[] }
  | { kind: 'data' }
  | { kind: 'header'; name: string; value: Buffer }
  | { kind: 'eoh' }
  | { kind: 'body'; chunk: Buffer }
  /** End of message; may carry a last body chunk. */
  | { kind: 'eob'; chunk: Buffer }
  | { kind: 'unknown'; line: string }
  | { kind: 'abort' }
  | { kind: 'quit' }
  /** Quit, but keep the connection for another SMTP session. */
  | { kind: 'quit-nc' };

export type MilterResponse =
  | { kind: 'optneg'; version: number; actions: number; protocol: number; macros?: Partial<Record<MacroStageName, string>> }
  | { kind: 'continue' | 'accept' | 'reject' | 'tempfail' | 'discard' | 'progress' | 'skip' }
  /** "550 5.7.1 text"; several lines in SMTP multi-line form, CRLF between them. */
  | { kind: 'replycode'; text: string }
  | { kind: 'addheader'; name: string; value: string }
  /** index 0 is the top of the header. */
  | { kind: 'insheader'; index: number; name: string; value: string }
  /** index 1 is the first field of that name; an empty value deletes it. */
  | { kind: 'chgheader'; index: number; name: string; value: string }
  | { kind: 'addrcpt'; address: string }
  | { kind: 'delrcpt'; address: string }
  | { kind: 'chgfrom'; address: string; args?: string }
  | { kind: 'quarantine'; reason: string }
  /** SMFIR_REPLBODY: a piece of the new body (the pieces of one end of message, in order, replace the whole body). */
  | { kind: 'replbody'; body: Buffer };

const COMMAND_CODES: Record<string, MilterCommand['kind']> = {
  O: 'optneg', D: 'macro', C: 'connect', H: 'helo', M: 'mail', R: 'rcpt', T: 'data', L: 'header',
  N: 'eoh', B: 'body', E: 'eob', U: 'unknown', A: 'abort', Q: 'quit', K: 'quit-nc',
};
const CODE_OF_COMMAND = Object.fromEntries(Object.entries(COMMAND_CODES).map(([c, k]) => [k, c])) as Record<MilterCommand['kind'], string>;

const RESPONSE_CODES: Record<string, MilterResponse['kind']> = {
  O: 'optneg', c: 'continue', a: 'accept', r: 'reject', t: 'tempfail', d: 'discard', p: 'progress', s: 'skip',
  y: 'replycode', h: 'addheader', i: 'insheader', m: 'chgheader', '+': 'addrcpt', '-': 'delrcpt', e: 'chgfrom', q: 'quarantine', b: 'replbody',
};
const CODE_OF_RESPONSE = Object.fromEntries(Object.entries(RESPONSE_CODES).map(([c, k]) => [k, c])) as Record<MilterResponse['kind'], string>;

const FAMILIES = { '4': 'inet', '6': 'inet6', L: 'unix', U: 'unknown' } as const;

/** Reads a frame's data front to back; every read checks the bytes are there. */
class Reader {
  private at = 0;
  constructor(
    private readonly data: Buffer,
    private readonly what: string,
  ) {}

  get left(): number {
    return this.data.length - this.at;
  }

  private fail(why: string): never {
    throw new MilterProtocolError(`${this.what}: ${why}`);
  }

  uint32(): number {
    if (this.left < 4) this.fail('truncated 32-bit value');
    const v = this.data.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }

  uint16(): number {
    if (this.left < 2) this.fail('truncated port');
    const v = this.data.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }

  byte(): string {
    if (this.left < 1) this.fail('truncated');
    return String.fromCharCode(this.data[this.at++]!);
  }

  bytes(): Buffer {
    const nul = this.data.indexOf(0, this.at);
    if (nul < 0) this.fail('string without its terminating NUL');
    const v = this.data.subarray(this.at, nul);
    this.at = nul + 1;
    return v;
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  rest(): Buffer {
    const v = this.data.subarray(this.at);
    this.at = this.data.length;
    return v;
  }

  /** Strings until the end; the data must end with a NUL. */
  strings(): string[] {
    const out: string[] = [];
    while (this.left) out.push(this.string());
    return out;
  }

  end(): void {
    if (this.left) this.fail(`${this.left} unexpected bytes at the end`);
  }
}

export function decodeCommand(frame: Frame): MilterCommand {
  const kind = COMMAND_CODES[frame.code];
  if (!kind) throw new MilterProtocolError(`unknown command code 0x${frame.code.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const r = new Reader(frame.data, `command '${frame.code}' (${kind})`);
  let cmd: MilterCommand;
  switch (kind) {
    case 'optneg':
      cmd = { kind, version: r.uint32(), actions: r.uint32(), protocol: r.uint32() };
      r.rest(); // later versions may add fields; version 6 MTAs send none
      break;
    case 'macro': {
      const forCode = r.byte();
      const list = r.strings();
      if (list.length % 2) throw new MilterProtocolError(`command 'D' (macro): macro ${list[list.length - 1]} has no value`);
      const macros: Array<[string, string]> = [];
      for (let i = 0; i < list.length; i += 2) macros.push([macroName(list[i]!), list[i + 1]!]);
      cmd = { kind, for: forCode, macros };
      break;
    }
    case 'connect': {
      const hostname = r.string();
      const f = r.byte();
      const family = FAMILIES[f as keyof typeof FAMILIES];
      if (!family) throw new MilterProtocolError(`command 'C' (connect): unknown address family '${f}'`);
      const port = family === 'unknown' ? 0 : r.uint16();
      const address = family === 'unknown' ? '' : r.string();
      cmd = { kind, hostname, family, port, address };
      break;
    }
    case 'helo':
      cmd = { kind, name: r.string() };
      break;
    case 'mail':
    case 'rcpt': {
      const args = r.strings();
      if (!args.length) throw new MilterProtocolError(`command '${frame.code}' (${kind}): no address`);
      cmd = { kind, args };
      break;
    }
    case 'header':
      cmd = { kind, name: r.string(), value: Buffer.from(r.bytes()) };
      break;
    case 'body':
    case 'eob':
      cmd = { kind, chunk: r.rest() };
      break;
    case 'unknown':
      cmd = { kind, line: r.string() };
      break;
    default:
      cmd = { kind } as MilterCommand;
  }
  r.end();
  return cmd;
}

/** `{auth_authen}` and `auth_authen` are one macro; single-letter names have no braces. */
function macroName(name: string): string {
  return name.startsWith('{') && name.endsWith('}') ? name.slice(1, -1) : name;
}

const cstr = (s: string | Buffer) => Buffer.concat([Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8'), Buffer.from([0])]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** The MTA's side: what Postfix would send (tests, the benchmark's client). */
export function encodeCommand(cmd: MilterCommand): Buffer {
  const code = CODE_OF_COMMAND[cmd.kind];
  switch (cmd.kind) {
    case 'optneg':
      return encodeFrame(code, Buffer.concat([u32(cmd.version), u32(cmd.actions), u32(cmd.protocol)]));
    case 'macro':
      return encodeFrame(code, Buffer.concat([Buffer.from(cmd.for, 'latin1'), ...cmd.macros.flatMap(([n, v]) => [cstr(n.length > 1 ? `{${n}}` : n), cstr(v)])]));
    case 'connect': {
      const f = Object.entries(FAMILIES).find(([, v]) => v === cmd.family)![0];
      if (cmd.family === 'unknown') return encodeFrame(code, Buffer.concat([cstr(cmd.hostname), Buffer.from(f)]));
      const port = Buffer.alloc(2);
      port.writeUInt16BE(cmd.port);
      return encodeFrame(code, Buffer.concat([cstr(cmd.hostname), Buffer.from(f), port, cstr(cmd.address)]));
    }
    case 'helo':
      return encodeFrame(code, cstr(cmd.name));
    case 'mail':
    case 'rcpt':
      return encodeFrame(code, Buffer.concat(cmd.args.map(cstr)));
    case 'header':
      return encodeFrame(code, Buffer.concat([cstr(cmd.name), cstr(cmd.value)]));
    case 'body':
    case 'eob':
      return encodeFrame(code, cmd.chunk);
    case 'unknown':
      return encodeFrame(code, cstr(cmd.line));
    default:
      return encodeFrame(code);
  }
}

export function encodeResponse(res: MilterResponse): Buffer {
  const code = CODE_OF_RESPONSE[res.kind];
  switch (res.kind) {
    case 'optneg': {
      const lists = Object.entries(res.macros ?? {}).map(([stage, names]) => Buffer.concat([u32(MacroStage[stage as MacroStageName]), cstr(names!)]));
      return encodeFrame(code, Buffer.concat([u32(res.version), u32(res.actions), u32(res.protocol), ...lists]));
    }
    case 'replycode':
      return encodeFrame(code, cstr(res.text));
    case 'addheader':
      return encodeFrame(code, Buffer.concat([cstr(res.name), cstr(res.value)]));
    case 'insheader':
    case 'chgheader':
      return encodeFrame(code, Buffer.concat([u32(res.index), cstr(res.name), cstr(res.value)]));
    case 'addrcpt':
    case 'delrcpt':
      return encodeFrame(code, cstr(res.address));
    case 'chgfrom':
      return encodeFrame(code, Buffer.concat([cstr(res.address), ...(res.args !== undefined ? [cstr(res.args)] : [])]));
    case 'quarantine':
      return encodeFrame(code, cstr(res.reason));
    case 'replbody':
      return encodeFrame(code, res.body);
    default:
      return encodeFrame(code);
  }
}

/** The MTA's side of reading a response (tests, the benchmark's client). */
export function decodeResponse(frame: Frame): MilterResponse {
  const kind = RESPONSE_CODES[frame.code];
  if (!kind) throw new MilterProtocolError(`unknown response code 0x${frame.code.charCodeAt(0).toString(16).padStart(2, '0')}`);
  const r = new Reader(frame.data, `response '${frame.code}' (${kind})`);
  let res: MilterResponse;
  switch (kind) {
    case 'optneg': {
      const version = r.uint32();
      const actions = r.uint32();
      const protocol = r.uint32();
      const macros: Partial<Record<MacroStageName, string>> = {};
      while (r.left) {
        const n = r.uint32();
        const stage = (Object.keys(MacroStage) as MacroStageName[]).find((s) => MacroStage[s] === n);
        if (!stage) throw new MilterProtocolError(`response 'O' (optneg): unknown macro stage ${n}`);
        macros[stage] = r.string();
      }
      res = { kind, version, actions, protocol, ...(Object.keys(macros).length ? { macros } : {}) };
      break;
    }
    case 'replycode':
      res = { kind, text: r.string() };
      break;
    case 'addheader':
      res = { kind, name: r.string(), value: r.string() };
      break;
    case 'insheader':
    case 'chgheader':
      res = { kind, index: r.uint32(), name: r.string(), value: r.string() };
      break;
    case 'addrcpt':
    case 'delrcpt':
      res = { kind, address: r.string() };
      break;
    case 'chgfrom': {
      const address = r.string();
      res = r.left ? { kind, address, args: r.string() } : { kind, address };
      break;
    }
    case 'quarantine':
      res = { kind, reason: r.string() };
      break;
    case 'replbody':
      res = { kind, body: r.rest() };
      break;
    default:
      res = { kind } as MilterResponse;
  }
  r.end();
  return res;
}
