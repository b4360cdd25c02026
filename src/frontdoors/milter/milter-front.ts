/**
 * The milter front door: a TCP listener where each MTA connection gets a
 * frame decoder (frames.ts), a conversation over a Session
 * (milter-session.ts), and its responses written back in order. Postfix
 * opens one milter connection per SMTP client.
 *
 * Failure modes: a malformed frame (bad length, unknown code, data of the
 * wrong shape) closes that connection with one log line, and the MTA
 * applies its milter_default_action; nothing else is touched. Frames are
 * handled one at a time; while a phase runs (or a spool file drains) the
 * socket is paused once a few frames or a few body chunks wait, so a fast
 * sender cannot queue unbounded work or memory.
 */
import { tmpdir } from 'node:os';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { SessionDeps } from '../../session/session.js';
import { serveInOrder, TcpFront } from '../tcp-front.js';
import { DEFAULT_MAX_FRAME, type Frame, FrameDecoder, MilterProtocolError } from './frames.js';
import { decodeCommand, encodeResponse } from './messages.js';
import { MilterConversation } from './milter-session.js';
import { DEFAULT_IN_MEMORY_LIMIT, DEFAULT_MESSAGE_MEMORY, type IncomingSettings, memoryBudget } from '../incoming-message.js';

export interface MilterFrontOptions {
  host: string;
  port: number;
  hostname: string;
  context: Record<string, string>;
  maxMessageSize: number;
  /** Bytes of messages held in memory at once, all connections together; default 512 MiB. */
  maxMessageMemory?: number;
  /** Messages up to this size stay in memory; default 128 KiB. */
  messageInMemoryLimit?: number;
  /** Where larger messages are written as they arrive; default: the system's temporary directory. */
  incomingDir?: string;
  deadlineMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
  maxFrame?: number;
  logger: Logger;
}

/** Frames waiting while a phase runs before the socket is paused. */
const MAX_QUEUED_FRAMES = 64;
/** Bytes of frames waiting before the socket is paused: two body chunks. */
const MAX_QUEUED_BYTES = 128 * 1024;

export function createMilterFront(options: MilterFrontOptions, deps: SessionDeps): TcpFront {
  const { logger } = options;
  // One budget for every connection: the process's memory is one.
  const incoming: IncomingSettings = {
    dir: options.incomingDir ?? tmpdir(),
    inMemoryLimit: options.messageInMemoryLimit ?? DEFAULT_IN_MEMORY_LIMIT,
    memory: memoryBudget(options.maxMessageMemory ?? DEFAULT_MESSAGE_MEMORY),
  };
  return new TcpFront(
    { host: options.host, port: options.port, idleTimeoutMs: options.idleTimeoutMs, maxConnections: options.maxConnections, logger, name: 'milter' },
    (socket, id) => serve(socket, id, options, incoming, deps),
  );
}

function serve(socket: Socket, id: string, options: MilterFrontOptions, incoming: IncomingSettings, deps: SessionDeps): void {
  const { logger } = options;
  const decoder = new FrameDecoder(options.maxFrame ?? DEFAULT_MAX_FRAME);
  const conversation = new MilterConversation(deps, { id, hostname: options.hostname, context: options.context, maxMessageSize: options.maxMessageSize, incoming, deadlineMs: options.deadlineMs, logger });
  serveInOrder<Frame>(socket, {
    id,
    logger,
    name: 'milter',
    decode: (chunk) => decoder.push(chunk),
    malformed: (e) => e instanceof MilterProtocolError,
    handle: async (frame) => {
      const responses = await conversation.handle(decodeCommand(frame));
      return { reply: Buffer.concat(responses.map(encodeResponse)), end: conversation.done };
    },
    maxQueued: MAX_QUEUED_FRAMES,
    maxQueuedBytes: MAX_QUEUED_BYTES,
    sizeOf: (frame) => frame.data.length,
    closed: () => conversation.close(),
  });
}
