/**
 * One milter connection from the MTA, turned into session events
 * (src/session/session.ts): connect, HELO, MAIL, RCPT and the end of the
 * message drive the same Session the SMTP server drives; the session's
 * replies become milter responses (docs/postfix.md, "What the milter
 * answers"). Headers and body make up the message the data phase reads:
 * as in the SMTP front door (incoming-message.ts), it is held in memory
 * while small and written to a spool file as the MTA sends it once not,
 * against one memory budget for every connection (docs/postfix.md,
 * "Large messages").
 *
 * Option negotiation asks the MTA not to wait for replies we have nothing
 * to say to (each header, body chunk, end of header, DATA, unknown
 * commands), asks for header values with their leading space as they
 * are, and names the macros we read. Macros fill the connection context
 * (`milter_<name>`), and some fill what the session itself knows: TLS
 * ({tls_version}), the authenticated user ({auth_authen}), our own name (j).
 */
import type { Logger } from 'pino';
import { replies } from '../../session/replies.js';
import { defaultEnhanced, type Reply, wireText } from '../../session/reply.js';
import { type PhaseOutcome, Session, type SessionDeps } from '../../session/session.js';
import type { MessageSource } from '../../session/message-source.js';
import { delayWithin, unbracket } from '../beside-mta.js';
import { IncomingMessage, type IncomingSettings } from '../incoming-message.js';
import { Action, type MacroStageName, MILTER_VERSION, type MilterCommand, type MilterResponse, Protocol } from './messages.js';
import { deliveryEdits, type HeaderField } from './milter-edits.js';

export interface MilterConversationOptions {
  id: string;
  /** Our name when the MTA sends no `j` macro. */
  hostname: string;
  /** Connection context values from the configuration. */
  context: Record<string, string>;
  /** Largest message collected for the data phase; past it the message is refused (552). */
  maxMessageSize: number;
  /** Where a large message goes as it arrives, and the memory budget for small ones. */
  incoming: IncomingSettings;
  /** Every response goes out within this (the MTA's milter_command_timeout is the limit). */
  deadlineMs: number;
  logger: Logger;
}

/**
 * Replies we never need: the MTA may go on without waiting (SMFIP_NR_*).
 * DATA is answered all the same. Postfix's smtpd sends it and the next
 * event comes later, from cleanup, once the client has sent the message
 * (docs/postfix.md, "Negotiation"). Left unanswered, the DATA segment is
 * acknowledged only by the kernel's delayed ACK (40 ms on Linux), and
 * Nagle's rule (RFC 896) holds cleanup's headers on Postfix's socket
 * until that ACK: every message waited 40 ms. The reply carries the ACK.
 * Headers, end of headers and body come in one stream before the end of
 * message, which is answered, so they need no reply.
 */
const NO_REPLY_WANTED = Protocol.NR_HDR | Protocol.NR_EOH | Protocol.NR_BODY | Protocol.NR_UNKN;
export const WANTED_PROTOCOL = NO_REPLY_WANTED | Protocol.NOUNKNOWN | Protocol.HDR_LEADSPC;
const WANTED_ACTIONS = Action.ADDHDRS | Action.CHGHDRS | Action.CHGBODY | Action.ADDRCPT | Action.DELRCPT | Action.QUARANTINE | Action.CHGFROM | Action.SETSYMLIST;

/** REPLBODY pieces: at most a body chunk's size each, as the MTA sends them (MILTER_CHUNK_SIZE). */
const REPLBODY_CHUNK = 65535;

/** The macros we ask for, by stage (Postfix's names; MILTER_README, "Sendmail macro emulation"). */
export const REQUESTED_MACROS: Partial<Record<MacroStageName, string>> = {
  connect: 'j {daemon_name} {daemon_addr} {daemon_port} {client_addr} {client_port} {client_name} {client_ptr} _',
  helo: '{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}',
  mail: 'i {auth_type} {auth_authen} {auth_author} {mail_addr}',
  rcpt: '{rcpt_addr}',
  eom: 'i',
};

/** Bounds on what the MTA's macros may make us hold. */
const MAX_MACROS = 128;
const MAX_MACRO_VALUE = 1024;

/** The reply for an event whose reply the MTA does not wait for. */
const NONE: MilterResponse[] = [];

export class MilterConversation {
  private session: Session | null = null;
  /** Negotiated SMFIP_* flags. */
  private protocol = 0;
  /** The actions the MTA allows us (SMFIF_*), from the option negotiation. */
  private actions = 0;
  private readonly macros = new Map<string, string>();
  private headers: HeaderField[] = [];
  /** The message from its end of header on; null before, or when it grew past maxMessageSize. */
  private message: IncomingMessage | null = null;
  private size = 0;
  /** A connect refusal holds for the whole connection (the MTA stops asking, but we do not rely on it). */
  private refused: Reply | null = null;

  constructor(
    private readonly deps: SessionDeps,
    private readonly options: MilterConversationOptions,
  ) {}

  /** True once the MTA said QUIT: the connection can be closed. */
  done = false;

  async handle(cmd: MilterCommand): Promise<MilterResponse[]> {
    const until = Date.now() + this.options.deadlineMs;
    switch (cmd.kind) {
      case 'optneg':
        return [this.negotiate(cmd)];
      case 'macro':
        this.define(cmd.macros);
        return NONE;
      case 'connect':
        return this.answer(await this.connect(cmd), Protocol.NR_CONN, until);
      case 'helo': {
        const s = this.current();
        if (this.refused) return this.refusal();
        if (this.macro('tls_version')) s.secured();
        return this.answer(await s.hello('EHLO', cmd.name, `EHLO ${cmd.name}`), Protocol.NR_HELO, until);
      }
      case 'mail': {
        const s = this.current();
        if (this.refused) return this.refusal();
        this.newMessage();
        const user = this.macro('auth_authen');
        if (user && s.connection.user !== user) s.authenticated(user);
        return this.answer(await s.mailFrom(unbracket(cmd.args[0]!)), Protocol.NR_MAIL, until);
      }
      case 'rcpt': {
        const s = this.current();
        if (this.refused) return this.refusal();
        return this.answer(await s.rcptTo(unbracket(cmd.args[0]!)), Protocol.NR_RCPT, until);
      }
      case 'header':
        this.size += Buffer.byteLength(cmd.name) + cmd.value.length + 3;
        if (this.size <= this.options.maxMessageSize) this.headers.push({ name: cmd.name, value: this.headerValue(cmd.value) });
        return this.continueUnless(Protocol.NR_HDR);
      case 'body':
        await this.bodyChunk(cmd.chunk);
        return this.continueUnless(Protocol.NR_BODY);
      case 'eob':
        await this.bodyChunk(cmd.chunk);
        return this.endOfMessage(until);
      case 'data':
        return this.continueUnless(Protocol.NR_DATA);
      case 'eoh':
        this.startBody();
        return this.continueUnless(Protocol.NR_EOH);
      case 'unknown':
        return this.continueUnless(Protocol.NR_UNKN);
      case 'abort':
        // The MTA ended the transaction (RSET, a rejection elsewhere, the end of a message).
        this.session?.reset();
        this.newMessage();
        return NONE;
      case 'quit':
        this.close();
        this.done = true;
        return NONE;
      case 'quit-nc':
        // The MTA keeps the socket for its next SMTP client: a new session starts at its connect.
        this.close();
        return NONE;
    }
  }

  /** The socket closed, or the MTA quit. */
  close(): void {
    this.endSession();
    this.macros.clear();
  }

  private endSession(): void {
    this.session?.close();
    this.session = null;
    this.refused = null;
    this.newMessage();
  }

  private negotiate(offer: Extract<MilterCommand, { kind: 'optneg' }>): MilterResponse {
    this.protocol = WANTED_PROTOCOL & offer.protocol;
    const actions = (this.actions = WANTED_ACTIONS & offer.actions);
    const version = Math.min(MILTER_VERSION, offer.version);
    this.options.logger.debug({ event: 'milter.negotiated', connection: this.options.id, version, actions, protocol: this.protocol }, 'milter options negotiated');
    return { kind: 'optneg', version, actions, protocol: this.protocol, ...(actions & Action.SETSYMLIST ? { macros: REQUESTED_MACROS } : {}) };
  }

  private define(list: Array<[string, string]>): void {
    for (const [name, value] of list) {
      if (!this.macros.has(name) && this.macros.size >= MAX_MACROS) continue;
      this.macros.set(name, value.slice(0, MAX_MACRO_VALUE));
      this.session?.connection.note(`milter_${name}`, value.slice(0, MAX_MACRO_VALUE));
    }
  }

  private macro(name: string): string | undefined {
    const v = this.macros.get(name);
    return v === undefined || v === '' ? undefined : v;
  }

  private connect(cmd: Extract<MilterCommand, { kind: 'connect' }>): Promise<PhaseOutcome> {
    // The connect macros came just before: keep them.
    this.endSession();
    const macros = [...this.macros].map(([k, v]) => [`milter_${k}`, v] as const);
    this.session = this.open(cmd.family === 'unknown' ? 'unknown' : cmd.address, cmd.port, Object.fromEntries(macros));
    return this.session.connect();
  }

  /** The session, opened for an unknown client if the MTA sent no connect (SMFIP_NOCONNECT is never asked for, but a peer may skip it). */
  private current(): Session {
    return (this.session ??= this.open(this.macro('client_addr') ?? 'unknown', Number(this.macro('client_port') ?? 0), {}));
  }

  private open(address: string, port: number, macros: Record<string, string>): Session {
    const o = this.options;
    return new Session(
      {
        id: o.id,
        remoteAddress: address,
        remotePort: port,
        localAddress: this.macro('daemon_addr') ?? '',
        localPort: Number(this.macro('daemon_port') ?? 0),
        tls: false,
        context: { ...o.context, ...macros },
        hostname: this.macro('j') ?? o.hostname,
        banner: '',
        // The MTA keeps the message, but one that lets us replace its body (SMFIF_CHGBODY) gets back a body the
        // policy changed (disclaimer_add) in REPLBODY responses (newBody).
        ...(this.actions & Action.CHGBODY ? { bodyReplaceable: true } : {}),
      },
      this.deps,
    );
  }

  private newMessage(): void {
    this.headers = [];
    this.dropMessage();
    this.size = 0;
  }

  /** Lets go of the message's bytes and its spool file, if any. */
  private dropMessage(): void {
    const message = this.message;
    this.message = null;
    if (message) void message.discard().catch((err: Error) => this.options.logger.warn({ event: 'milter.spool', connection: this.options.id, err: err.message }, 'could not remove a spool file'));
  }

  /**
   * The header the MTA sent, as the message's first bytes: at the end of
   * header, or at the first body chunk when the MTA skipped SMFIC_EOH.
   */
  private startBody(): void {
    if (this.message || this.size > this.options.maxMessageSize) return;
    this.message = new IncomingMessage(this.options.incoming);
    const head = this.headers.map((h) => `${h.name}:${h.value}\r\n`).join('');
    this.message.write(Buffer.from(`${head}\r\n`, 'utf8'));
  }

  /**
   * Keeps a body chunk while the message is within its bound; past it,
   * remembers only the size. When the spool file's buffer is full, the
   * next frame waits for it to drain, and the connection is paused behind
   * it (tcp-front.ts), as TCP pauses an SMTP client.
   */
  private async bodyChunk(chunk: Buffer): Promise<void> {
    this.startBody();
    this.size += chunk.length;
    if (this.size > this.options.maxMessageSize) return this.dropMessage();
    const message = this.message;
    if (message && chunk.length && !message.write(chunk)) await message.drained();
  }

  /** With SMFIP_HDR_LEADSPC the value is as in the message; without it the MTA dropped the space after the colon. */
  private headerValue(value: Buffer): string {
    const v = value.toString('utf8').replace(/\r?\n/g, '\r\n');
    return this.protocol & Protocol.HDR_LEADSPC ? v : ` ${v}`;
  }

  private async endOfMessage(until: number): Promise<MilterResponse[]> {
    const s = this.current();
    if (this.refused) return this.refusal();
    const incoming = this.message;
    if (this.size > this.options.maxMessageSize || !incoming) {
      s.reset();
      this.newMessage();
      return [replyCode(replies.tooBig(this.options.maxMessageSize))];
    }
    const before = this.headers;
    this.message = null;
    this.newMessage();
    if (incoming.noMemory) {
      await incoming.discard();
      s.reset();
      this.options.logger.warn({ event: 'message-memory', connection: this.options.id }, 'message memory budget reached: 452');
      return [replyCode(replies.noMemory)];
    }
    let message: MessageSource;
    try {
      message = await incoming.finish();
    } catch {
      // The spool file could not be written (disk full): a temporary failure, as a full disk is (RFC 3463 4.3.1).
      await incoming.discard();
      s.reset();
      return [replyCode(replies.noMemory)];
    }
    // The spool file is removed before the answer: once the MTA has it, nothing of the message is left here.
    const outcome = await s.data(message).finally(() => message.dispose());
    await delayWithin(outcome.tarpitMs, until);
    if (!outcome.accepted || !outcome.delivery) return [replyCode(outcome.reply)];
    const recipients = s.lastTransaction?.recipientAddresses ?? [];
    const { edits, final } = deliveryEdits(outcome.delivery, recipients, { before, leadingSpace: (this.protocol & Protocol.HDR_LEADSPC) !== 0 });
    return [...edits, ...this.newBody(outcome.delivery), final];
  }

  /** REPLBODY pieces for a body the policy changed (disclaimer_add), when the MTA allows it; none otherwise. */
  private newBody(plan: NonNullable<PhaseOutcome['delivery']>): MilterResponse[] {
    if (!plan.bodyChanged || !plan.message || !(this.actions & Action.CHGBODY)) return NONE;
    // The body follows the empty line that ends the header section (RFC 5322 2.1).
    // A changed body is in memory (finishMessage made it).
    const message = plan.message.bytes();
    const end = message.indexOf('\r\n\r\n');
    const body = end < 0 ? Buffer.alloc(0) : message.subarray(end + 4);
    const out: MilterResponse[] = [];
    for (let at = 0; at < body.length; at += REPLBODY_CHUNK) out.push({ kind: 'replbody', body: body.subarray(at, at + REPLBODY_CHUNK) });
    // An empty new body is one empty piece: none at all would leave the old body.
    return out.length ? out : [{ kind: 'replbody', body }];
  }

  private async answer(outcome: PhaseOutcome, noReply: number, until: number): Promise<MilterResponse[]> {
    await delayWithin(outcome.tarpitMs, until);
    if (outcome.phase === 'connect' && !outcome.accepted) this.refused = outcome.reply;
    if (this.protocol & noReply) return NONE;
    return outcome.accepted ? [{ kind: 'continue' }] : [replyCode(outcome.reply)];
  }

  private refusal(): MilterResponse[] {
    return [replyCode(this.refused!)];
  }

  private continueUnless(noReply: number): MilterResponse[] {
    return this.protocol & noReply ? NONE : [{ kind: 'continue' }];
  }
}

/**
 * SMFIR_REPLYCODE's text: the SMTP reply as on the wire, every line with
 * its enhanced code (Postfix refuses a reply without one), and each `%`
 * doubled (Sendmail reads the text as a format; Postfix undoes the doubling).
 */
export function replyCode(reply: Reply): MilterResponse {
  const enhanced = reply.enhanced ?? defaultEnhanced(reply.code);
  return { kind: 'replycode', text: wireText({ ...reply, ...(enhanced ? { enhanced } : {}) }).replace(/%/g, '%%') };
}
