/**
 * The Postfix policy service front door: a TCP listener where each
 * connection (Postfix keeps one per smtpd process and reuses it) carries
 * requests, answered in order through one PolicyDelegation shared by all
 * connections, so a session survives Postfix reconnecting mid-way.
 *
 * A malformed request (a line without `=`, or over a bound) closes that
 * connection with one log line; Postfix then answers its client with
 * `451 4.3.5 Server configuration problem` unless smtpd_policy_service_default_action
 * says otherwise (docs/postfix.md).
 */
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SessionDeps } from '../../session/session.js';
import { serveInOrder, TcpFront } from '../tcp-front.js';
import { DEFAULT_POLICY_LIMITS, formatAction, type PolicyLimits, PolicyProtocolError, type PolicyRequest, PolicyRequestReader } from './policy-codec.js';
import { PolicyDelegation, type PolicyDelegationOptions } from './policy-delegation.js';

export interface PolicyFrontOptions extends PolicyDelegationOptions {
  host: string;
  port: number;
  idleTimeoutMs: number;
  maxConnections: number;
  limits?: PolicyLimits;
  logger: Logger;
}

/** Requests read ahead of the one being answered before the socket is paused. */
const MAX_QUEUED_REQUESTS = 16;

export function createPolicyFront(options: PolicyFrontOptions, deps: SessionDeps): { front: TcpFront; delegation: PolicyDelegation } {
  const delegation = new PolicyDelegation(deps, options);
  const front = new TcpFront(
    { host: options.host, port: options.port, idleTimeoutMs: options.idleTimeoutMs, maxConnections: options.maxConnections, logger: options.logger, name: 'policy' },
    (socket, id) => serve(socket, id, options, delegation),
  );
  return { front, delegation };
}

function serve(socket: Socket, id: string, options: PolicyFrontOptions, delegation: PolicyDelegation): void {
  const { logger } = options;
  const reader = new PolicyRequestReader(options.limits ?? DEFAULT_POLICY_LIMITS);
  serveInOrder<PolicyRequest>(socket, {
    id,
    logger,
    name: 'policy',
    decode: (chunk) => reader.push(chunk),
    malformed: (e) => e instanceof PolicyProtocolError,
    handle: async (request) => {
      const action = await delegation.decide(request);
      logger.debug({ event: 'policy.reply', connection: id, state: request.get('protocol_state'), instance: request.get('instance'), action }, action);
      return { reply: Buffer.from(formatAction(action), 'utf8') };
    },
    maxQueued: MAX_QUEUED_REQUESTS,
    closed: () => undefined,
  });
}
