/**
 * How an SMTP session fills the context variables scripts read
 * (sieve-dialect.md, "Context variables the server provides"). The server
 * (smtp.ts) and the dry-run runner (src/runner) both call these, so a
 * policy sees the same variables whether it runs under test or in service.
 */
import type { SessionState } from './types.js';

export interface SessionInit {
  id: string;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  tls: boolean;
  /** Listener and peer `Context = [...]` values: the connection context starts with them. */
  context?: Record<string, string>;
}

/** A new connection: its connection context (`vctx_conn`) and an empty message context. */
export function openSession(init: SessionInit): SessionState {
  const connection = new Map<string, string>(Object.entries(init.context ?? {}));
  const state: SessionState = {
    id: init.id,
    remoteAddress: init.remoteAddress,
    remotePort: init.remotePort,
    localAddress: init.localAddress,
    localPort: init.localPort,
    tls: init.tls,
    connection,
    message: new Map(),
    recipients: [],
    messageCount: 0,
    rcptCount: 0,
  };
  connection.set('remote_ip', state.remoteAddress);
  connection.set('remote_port', String(state.remotePort));
  connection.set('local_ip', state.localAddress);
  connection.set('local_port', String(state.localPort));
  connection.set('tls', state.tls ? 'true' : 'false');
  connection.set('auth_status', 'none');
  connection.set('connection_message_count', '0');
  connection.set('connection_rcpt_count', '0');
  return state;
}

/** STARTTLS completed. */
export function secured(state: SessionState): void {
  state.tls = true;
  state.connection.set('tls', 'true');
}

/**
 * A client that authenticated. The server offers no AUTH today; the dry
 * run can play an authenticated client (`auth_status` "authenticated").
 */
export function authenticated(state: SessionState, user: string): void {
  state.user = user;
  state.connection.set('auth_status', 'authenticated');
  state.connection.set('auth_user', user);
}

/** EHLO or HELO with its argument, before the ehlo phase runs. */
export function greeted(state: SessionState, verb: 'EHLO' | 'HELO', domain: string, line = `${verb} ${domain}`): void {
  state.helo = domain;
  state.esmtp = verb === 'EHLO';
  state.connection.set('ehlo_domain', domain);
  state.connection.set('ehlo_string', line);
}

/** MAIL FROM: a new transaction, so a new message context. */
export function beginTransaction(state: SessionState, from: string): void {
  state.message = new Map();
  state.mailFrom = from;
  state.recipients = [];
  const [local, domain] = split(from);
  state.message.set('mailfrom_string', from);
  state.message.set('mailfrom_localpart', local);
  state.message.set('mailfrom_domain', domain);
  state.message.set('message_rcpt_count', '0');
}

/** A refused MAIL FROM leaves no sender. */
export function refuseTransaction(state: SessionState): void {
  state.mailFrom = undefined;
}

/** RCPT TO, before the rcptto phase decides it. */
export function offerRecipient(state: SessionState, rcpt: string): void {
  const [local, domain] = split(rcpt);
  state.message.set('rcptto_string', rcpt);
  state.message.set('rcptto_localpart', local);
  state.message.set('rcptto_domain', domain);
}

/** The rcptto phase accepted the recipient. */
export function acceptRecipient(state: SessionState, rcpt: string): void {
  state.recipients.push(rcpt);
  state.rcptCount++;
  state.message.set('message_rcpt_count', String(state.recipients.length));
  state.connection.set('connection_rcpt_count', String(state.rcptCount));
}

/** A message was accepted at DATA. */
export function messageAccepted(state: SessionState): void {
  state.messageCount++;
  state.connection.set('connection_message_count', String(state.messageCount));
}

/** local part and domain at the last "@" (a quoted local part may hold another). */
function split(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return at < 0 ? [address, ''] : [address.slice(0, at), address.slice(at + 1)];
}
