/**
 * Momentum's functions about the message and where it came from
 * (sieve-ref-ec-get-message-*.md, sieve-ref-ec-mime-parts.md,
 * sieve-ref-ec-valid-mime.md), and a boundary for a message a script
 * writes. The connection facts come from the connection context the server
 * fills (docs/sieve-reference.md, "Context variables").
 */
import { andThen, matchTest } from '../../sieve/interpreter.js';
import { afterMimeTree, mimeTree, parseContentType, walkParts } from '../../sieve/runtime/mime.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { mapInSlices, type SieveFunction } from '../functions.js';
import { contextValue, type MomentumContext, sessionOf } from '../host.js';

const fromConnection = (name: string, key: string): SieveFunction => ({
  name,
  uses: { value: true },
  params: [],
  call: (_b, rt) => contextValue(sessionOf(rt).connection, key) ?? '',
});

/** "ESMTP" after EHLO, "SMTP" after HELO (sieve-ref-ec-get-message-protocol.md). */
const protocol: SieveFunction = {
  name: 'ec_get_message_protocol',
  uses: { value: true },
  params: [],
  call(_b, rt) {
    const greeting = contextValue(sessionOf(rt).connection, 'ehlo_string') ?? '';
    return /^\s*helo\b/i.test(greeting) ? 'SMTP' : 'ESMTP';
  },
};

/**
 * When the message was made, in whole seconds since the epoch
 * (sieve-ref-ec-get-message-creation-time.md): the server makes it when
 * it accepts MAIL FROM, so the time is the transaction's start, the same
 * in every later phase. The page's phases are those that have a message,
 * from rcptto on; a run with no message time given is a runtime error
 * rather than a made-up time.
 */
const creationTime: SieveFunction = {
  name: 'ec_get_message_creation_time',
  uses: { value: true },
  phases: ['rcptto', 'data', 'each_rcpt', 'spool'],
  params: [],
  call(b, rt) {
    const at = (rt.context as MomentumContext).messageCreatedAt;
    if (at === undefined) return rt.fail('ec_get_message_creation_time: there is no message in this run', b.node.pos);
    return String(Math.floor(at / 1000));
  },
};

/**
 * The message's unique id (sieve-ref-ec-get-message-id.md): the one the
 * host names it by in its log lines and its Received field ("with ESMTP id
 * ..."), from MAIL FROM on. Momentum's page says the 250 reply names it
 * too; smtp-cbv's 250 names the stored copy (docs/sieve-reference.md).
 */
const messageId: SieveFunction = {
  name: 'ec_get_message_id',
  uses: { value: true },
  phases: ['rcptto', 'data', 'each_rcpt', 'spool'],
  params: [],
  call(b, rt) {
    const id = (rt.context as MomentumContext).messageId;
    return id ?? rt.fail('ec_get_message_id: there is no message in this run', b.node.pos);
  },
};

/**
 * How many delivery attempts the message has had
 * (sieve-ref-ec-get-message-num-retries.md): every phase that runs scripts
 * here is the message's reception, before any attempt, so it is 0 (the
 * delivery queue counts its own, docs/delivery.md).
 */
const numRetries: SieveFunction = {
  name: 'ec_get_message_num_retries',
  uses: { value: true },
  phases: ['rcptto', 'data', 'each_rcpt', 'spool'],
  params: [],
  call: () => '0',
};

/**
 * The message size in octets (RFC 5228 5.9's size); needs the message. The
 * host knows it without reading: a spooled message is not read from disk
 * and measured on the event loop for it (docs/server.md, "Messages on disk").
 */
const size: SieveFunction = {
  name: 'ec_get_message_size',
  uses: { value: true },
  needsMessage: true,
  params: [],
  call: (b, rt) => String(rt.requireMessage(b.node.pos).size),
};

/** The file name of a MIME part: Content-Disposition's filename, else Content-Type's name (RFC 2183 2.3, RFC 2046). */
function filenameOf(part: ReturnType<typeof mimeTree>): string | undefined {
  const field = (n: string) => part.headers.find((h) => h.lname === n)?.value;
  const disposition = field('content-disposition');
  return (disposition ? parseContentType(disposition, '').params.filename : undefined) ?? part.params.name;
}

/** `ec_mime_parts <match-type> "filename" <values>`: true when a part's metadata matches. */
const mimeParts: SieveFunction = {
  name: 'ec_mime_parts',
  uses: { test: true },
  needsMessage: true,
  families: ['comparator', 'match-type'],
  params: [
    { name: 'metadata', type: 'string' },
    { name: 'values', type: 'any' },
  ],
  validate(b, v) {
    const a = b.args[0]!;
    if (a.kind === 'string' && typeof a.template === 'string' && a.template.toLowerCase() !== 'filename') {
      v.error(a.node.pos, `ec_mime_parts: unknown metadata '${a.template}' (Momentum supports "filename")`);
    }
  },
  call(b, rt) {
    const later = afterMimeTree(rt.requireMessage(b.node.pos), rt.budget, () => mimeParts.call(b, rt));
    if (later) return later;
    // A message of 100,000 parts is that many header fields to parse: in slices.
    const parts = Array.from(walkParts(mimeTree(rt.requireMessage(b.node.pos))));
    return andThen(mapInSlices(rt, parts, filenameOf, () => 128), (names) =>
      matchTest(b, rt, names.filter((n): n is string => n !== undefined), rt.list(b.args[1]!)),
    );
  },
};

/** Structural MIME problems: a multipart without its boundary or with no parts (RFC 2046 5.1.1). */
function mimeProblems(rt: Runtime, pos: Parameters<Runtime['requireMessage']>[0]): boolean {
  for (const p of walkParts(mimeTree(rt.requireMessage(pos)))) {
    if (p.type.startsWith('multipart/') && (!p.params.boundary || p.children.length === 0)) return true;
  }
  return false;
}

/** `ec_valid_mime`: true when the message's MIME structure is sound (sieve-ref-ec-valid-mime.md). */
const validMime: SieveFunction = {
  name: 'ec_valid_mime',
  uses: { test: true },
  needsMessage: true,
  params: [],
  call: (b, rt) => afterMimeTree(rt.requireMessage(b.node.pos), rt.budget, () => !mimeProblems(rt, b.node.pos)) ?? !mimeProblems(rt, b.node.pos),
};

/**
 * `ec_mime_boundary_create` (sieve-ref-ec-mime-boundary-create.md): a new
 * boundary for a MIME message a script writes, without the `--` around it.
 * "=_" never occurs in quoted-printable text (RFC 2045 6.7), and 96 random
 * bits make it unlikely anywhere else; every character is one RFC 2046
 * 5.1.1 allows, and it is far under its 70.
 */
const mimeBoundary: SieveFunction = {
  name: 'ec_mime_boundary_create',
  uses: { value: true },
  params: [],
  // Web Crypto's global, not node:crypto: `smtp-cbv check` loads these definitions and must not load that module (docs/architecture.md, "Start-up").
  call: () => `=_${Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString('hex')}`,
};

export const messageFunctions: SieveFunction[] = [
  protocol,
  creationTime,
  messageId,
  numRetries,
  size,
  fromConnection('ec_get_message_received_from', 'remote_ip'),
  fromConnection('ec_get_message_received_from_port', 'remote_port'),
  fromConnection('ec_get_message_received_via', 'local_ip'),
  fromConnection('ec_get_message_received_via_port', 'local_port'),
  mimeParts,
  validMime,
  mimeBoundary,
];
