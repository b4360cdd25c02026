/**
 * The milter front door over real sockets on 127.0.0.1, driven the way
 * Postfix drives a milter: negotiation, every phase through the Session,
 * the data phase on the real header and body, and Sieve results as milter
 * requests.
 */
import { watch } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/frontdoors/milter/frames.js';
import { Action, Protocol } from '../../src/frontdoors/milter/messages.js';
import type { TcpFront } from '../../src/frontdoors/tcp-front.js';
import { MemoryDuplicates } from '../../src/store/duplicates.js';
import { MilterClient, playTransaction, POSTFIX_OFFER } from '../helpers/milter-client.js';
import { type Bindings, capturingLogger, negotiatedClient, services, sievePolicy, startMilter } from './fixture.js';

const fronts: TcpFront[] = [];
const clients: MilterClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const f of fronts.splice(0)) await f.close(0);
});

async function milter(bindings: Bindings, extra: Parameters<typeof startMilter>[2] = {}, s = services()) {
  const { front, port } = await startMilter(sievePolicy(bindings), s, extra);
  fronts.push(front);
  return { port, open: () => negotiatedClient(port, clients) };
}

const message = 'From: a@sender.test\r\nSubject: hello\r\nX-Old: 1\r\nX-Old: 2\r\n\r\nbody line\r\n';

describe('option negotiation', () => {
  it('version 6, the actions we use, no replies to headers, body, EOH, and our macro lists', async () => {
    const { open } = await milter({});
    const c = await open();
    const r = c.negotiated!;
    expect(r.version).toBe(6);
    expect(r.actions).toBe(Action.ADDHDRS | Action.CHGHDRS | Action.CHGBODY | Action.ADDRCPT | Action.DELRCPT | Action.QUARANTINE | Action.CHGFROM | Action.SETSYMLIST);
    for (const f of [Protocol.NR_HDR, Protocol.NR_BODY, Protocol.NR_EOH, Protocol.HDR_LEADSPC]) expect(r.protocol & f).toBe(f);
    expect(r.protocol & Protocol.NR_RCPT).toBe(0);
    expect(r.macros?.mail).toContain('{auth_authen}');
    expect(r.macros?.helo).toContain('{tls_version}');
  });

  it('answers DATA, though Postfix offers to go on without: the reply acknowledges the segment, so Nagle does not hold the next event', async () => {
    const { open } = await milter({});
    const c = await open();
    expect(c.negotiated!.protocol & Protocol.NR_DATA).toBe(0);
    await c.send({ kind: 'connect', hostname: 'localhost', family: 'inet', port: 40000, address: '127.0.0.1' }, [['j', 'mx.test']]);
    await c.send({ kind: 'helo', name: 'client.test' });
    await c.send({ kind: 'mail', args: ['<a@b.test>'] });
    await c.send({ kind: 'rcpt', args: ['<c@d.test>'] });
    expect(await c.send({ kind: 'data' })).toEqual([{ kind: 'continue' }]);
  });

  it('asks only for what the MTA offers: an MTA without no-reply flags gets a reply to every event', async () => {
    const { port } = await milter({});
    const c = await MilterClient.open(port);
    clients.push(c);
    const r = await c.negotiate({ version: 2, actions: 0x3f, protocol: 0x7f });
    expect(r).toEqual({ kind: 'optneg', version: 2, actions: 0x3f, protocol: 0 });
    const t = await playTransaction(c, { from: 'a@b.test', to: ['c@d.test'], message });
    expect(t.eom).toEqual([{ kind: 'continue' }]);
  });
});

describe('phases through the session', () => {
  it('a MAIL FROM refusal is a reply code with the script text', async () => {
    const { open } = await milter({ mailfrom: 'require ["envelope", "reject"]; if envelope :domain :is "from" "spam.test" { reject "no mail from spam.test"; }' });
    const t = await playTransaction(await open(), { from: 'x@spam.test', to: ['bob@here.test'], message });
    expect(t.mail).toEqual([{ kind: 'replycode', text: '550 5.7.1 no mail from spam.test' }]);
  });

  it('one recipient refused, the other accepted; the data phase sees only the accepted one', async () => {
    const { open } = await milter({
      rcptto: 'require "envelope"; if envelope :localpart :is "to" "nobody" { ec_action 550 "5.1.1 no such user"; }',
      data: 'require ["envelope"]; if envelope :all :is "to" "bob@here.test" { ec_action 451 "4.7.1 only bob: %{vctx_mess:message_rcpt_count}"; }',
    });
    const t = await playTransaction(await open(), { from: 'a@b.test', to: ['nobody@here.test', 'bob@here.test'], message });
    expect(t.rcpts).toEqual([[{ kind: 'replycode', text: '550 5.1.1 no such user' }], [{ kind: 'continue' }]]);
    expect(t.eom).toEqual([{ kind: 'replycode', text: '451 4.7.1 only bob: 1' }]);
  });

  it('the data phase reads the real header and body', async () => {
    const { open } = await milter({ data: 'require ["body"]; if allof (header :is "subject" "hello", body :contains "body line") { ec_action 550 "5.7.1 seen: %{vctx_conn:milter_j}"; }' });
    const t = await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message });
    expect(t.eom).toEqual([{ kind: 'replycode', text: '550 5.7.1 seen: mx.test' }]);
  });

  it('macros fill the connection: {auth_authen} authenticates, {tls_version} secures, others are milter_<name>', async () => {
    const { open } = await milter({
      mailfrom: 'if allof (vctx_conn :is "auth_user" "alice", vctx_conn :is "tls" "true", vctx_conn :is "milter_i" "Q123") { ec_action 451 "4.7.0 %{vctx_conn:auth_status} %{vctx_conn:remote_ip}"; }',
    });
    const t = await playTransaction(await open(), {
      client: { address: '192.0.2.9', port: 1234 },
      from: 'a@b.test',
      to: ['c@d.test'],
      macros: { helo: [['tls_version', 'TLSv1.3']], mail: [['i', 'Q123'], ['auth_authen', 'alice']] },
    });
    expect(t.mail).toEqual([{ kind: 'replycode', text: '451 4.7.0 authenticated 192.0.2.9' }]);
  });

  it('a connect refusal holds for the whole connection', async () => {
    const { open } = await milter({ connect: 'require "reject"; reject "go away";' });
    const c = await open();
    const t = await playTransaction(c, { from: 'a@b.test', to: ['c@d.test'] });
    expect(t.connect).toEqual([{ kind: 'replycode', text: '554 5.7.1 go away' }]);
    expect(await c.send({ kind: 'helo', name: 'again' })).toEqual([{ kind: 'replycode', text: '554 5.7.1 go away' }]);
  });

  it('a % in a reply is doubled, multi-line replies keep their code on each line', async () => {
    const { open } = await milter({ mailfrom: 'ec_action 550 "5.7.1 100% sure\nsecond line";' });
    const t = await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'] });
    expect(t.mail).toEqual([{ kind: 'replycode', text: '550-5.7.1 100%% sure\r\n550 5.7.1 second line' }]);
  });
});

describe('Sieve results as milter requests', () => {
  const play = async (data: string, to = ['c@d.test']) => {
    const { open } = await milter({ data });
    return (await playTransaction(await open(), { from: 'a@b.test', to, message })).eom;
  };

  it('ec_header_add inserts at the top, editheader addheader :last appends', async () => {
    expect(await play('ec_header_add "X-Policy" "checked";')).toEqual([{ kind: 'insheader', index: 0, name: 'X-Policy', value: ' checked' }, { kind: 'continue' }]);
    expect(await play('require "editheader"; addheader :last "X-Tail" "t";')).toEqual([{ kind: 'addheader', name: 'X-Tail', value: ' t' }, { kind: 'continue' }]);
  });

  it('deleting header fields changes them to empty, the last occurrence first', async () => {
    expect(await play('require "editheader"; deleteheader "X-Old";')).toEqual([
      { kind: 'chgheader', index: 2, name: 'X-Old', value: '' },
      { kind: 'chgheader', index: 1, name: 'X-Old', value: '' },
      { kind: 'continue' },
    ]);
    expect(await play('ec_header_delete "X-Old" "2";')).toEqual([{ kind: 'chgheader', index: 2, name: 'X-Old', value: '' }, { kind: 'continue' }]);
  });

  it('ec_header_prefix changes the first field of the name where it stands: removed, then inserted at its place', async () => {
    expect(await play('ec_header_prefix "X-Old" "[p] ";')).toEqual([
      { kind: 'chgheader', index: 1, name: 'X-Old', value: '' },
      { kind: 'insheader', index: 2, name: 'X-Old', value: ' [p] 1' },
      { kind: 'continue' },
    ]);
  });

  it('discard is DISCARD', async () => {
    expect(await play('discard;')).toEqual([{ kind: 'discard' }]);
  });

  it('duplicate: a message the MTA was told to accept is DISCARDed when it comes again (RFC 7352)', async () => {
    const { open } = await milter({ data: 'require "duplicate"; if duplicate { discard; }' }, {}, services({ duplicates: new MemoryDuplicates() }));
    const twice = 'Message-ID: <once@sender.test>\r\n' + message;
    expect((await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message: twice })).eom).toEqual([{ kind: 'continue' }]);
    expect((await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message: twice })).eom).toEqual([{ kind: 'discard' }]);
    expect((await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message })).eom).toEqual([{ kind: 'continue' }]);
  });

  it('fileinto a folder is QUARANTINE, and the message goes on', async () => {
    expect(await play('require "fileinto"; fileinto "Quarantine";')).toEqual([{ kind: 'quarantine', reason: 'smtp-cbv: fileinto Quarantine' }, { kind: 'continue' }]);
  });

  it('redirect replaces the recipients; with :copy it adds one', async () => {
    expect(await play('redirect "other@elsewhere.test";')).toEqual([{ kind: 'delrcpt', address: '<c@d.test>' }, { kind: 'addrcpt', address: '<other@elsewhere.test>' }, { kind: 'continue' }]);
    expect(await play('require "copy"; redirect :copy "other@elsewhere.test";')).toEqual([{ kind: 'addrcpt', address: '<other@elsewhere.test>' }, { kind: 'continue' }]);
  });

  it('ec_rewrite_mailfrom is CHGFROM; add_recipient is ADDRCPT', async () => {
    expect(await play('ec_rewrite_mailfrom "bounces@here.test";')).toEqual([{ kind: 'chgfrom', address: '<bounces@here.test>' }, { kind: 'continue' }]);
    expect(await play('add_recipient "archive@here.test";')).toEqual([{ kind: 'addrcpt', address: '<archive@here.test>' }, { kind: 'continue' }]);
  });

  it('ec_set_routing_gateway has no effect: the MTA delivers by its own routing (docs/sieve-reference.md)', async () => {
    const { open } = await milter({ rcptto: 'ec_set_routing_gateway "relay.test:2525";', data: 'ec_set_routing_gateway "[2001:db8::1]";' });
    const t = await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message });
    expect([t.rcpts, t.eom]).toEqual([[[{ kind: 'continue' }]], [{ kind: 'continue' }]]);
  });

  it('disclaimer_add: the MTA gets the new body in REPLBODY and the header fields that now describe it', async () => {
    const eom = (await play('$h = hash_create; hash_set $h "plain" "Scanned."; disclaimer_add $h;')) ?? [];
    expect(eom.at(-1)).toEqual({ kind: 'continue' });
    const bodies = eom.filter((r) => r.kind === 'replbody');
    expect(Buffer.concat(bodies.map((r) => (r as { body: Buffer }).body)).toString()).toBe('body line\r\nScanned.\r\n');
    // The message was not MIME: it now says it is, UTF-8 in quoted-printable, at the end of the header.
    expect(eom.filter((r) => r.kind === 'addheader')).toEqual([
      { kind: 'addheader', name: 'Content-Type', value: ' text/plain; charset=utf-8' },
      { kind: 'addheader', name: 'Content-Transfer-Encoding', value: ' quoted-printable' },
      { kind: 'addheader', name: 'MIME-Version', value: ' 1.0' },
    ]);
  });

  it('disclaimer_add with an MTA that allows no body change: nothing changes, and a warning says so', async () => {
    const log = capturingLogger();
    const { port } = await milter({ data: '$h = hash_create; hash_set $h "plain" "Scanned."; disclaimer_add $h;' }, {}, services({ logger: log.logger }));
    const c = await MilterClient.open(port);
    clients.push(c);
    await c.negotiate({ version: 6, actions: 0x1ff & ~Action.CHGBODY, protocol: 0x1fffff });
    const t = await playTransaction(c, { from: 'a@b.test', to: ['c@d.test'], message });
    expect(t.eom).toEqual([{ kind: 'continue' }]);
    expect(log.lines.some((l) => l.event === 'disclaimer.unsupported')).toBe(true);
  });

  it('a recipient discarded at RCPT is deleted at end of message', async () => {
    const { open } = await milter({ rcptto: 'require "envelope"; if envelope :localpart :is "to" "drop" { discard; }' });
    const t = await playTransaction(await open(), { from: 'a@b.test', to: ['drop@d.test', 'keep@d.test'], message });
    expect(t.rcpts).toEqual([[{ kind: 'continue' }], [{ kind: 'continue' }]]);
    expect(t.eom).toEqual([{ kind: 'delrcpt', address: '<drop@d.test>' }, { kind: 'continue' }]);
  });

  it('each_rcpt: a recipient it refuses among others is deleted at end of message (no DSN: the MTA beside us has the queue, a warning says so); all refused is the reply', async () => {
    const log = capturingLogger();
    const { open } = await milter({ each_rcpt: 'require ["envelope", "reject"]; if envelope :localpart :is "to" "no" { reject "not this one"; }' }, {}, services({ logger: log.logger }));
    const t = await playTransaction(await open(), { from: 'a@b.test', to: ['no@d.test', 'keep@d.test'], message });
    expect(t.eom).toEqual([{ kind: 'delrcpt', address: '<no@d.test>' }, { kind: 'continue' }]);
    expect(log.lines.find((l) => l.event === 'outgoing.unsent')).toMatchObject({ phase: 'each_rcpt', types: ['dsn'] });
    const all = await playTransaction(await open(), { from: 'a@b.test', to: ['no@d.test'], message });
    expect(all.eom).toEqual([{ kind: 'replycode', text: '550 5.7.1 not this one' }]);
  });
});

describe('failure modes', () => {
  it('a malformed frame closes that connection with a log line; the server goes on', async () => {
    const { logger, lines } = capturingLogger();
    const { port, open } = await milter({}, {}, services({ logger }));
    const bad = await MilterClient.open(port);
    clients.push(bad);
    bad.socket.write(encodeFrame('O', Buffer.from([0, 0, 0, 6])));
    await new Promise<void>((r) => (bad.closed ? r() : bad.socket.once('close', () => r())));
    expect(lines.some((l) => l.event === 'milter.malformed')).toBe(true);
    const t = await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message });
    expect(t.eom).toEqual([{ kind: 'continue' }]);
  });

  it('a frame length over the bound closes the connection before its data arrives', async () => {
    const { port } = await milter({}, { maxFrame: 1024 });
    const c = await MilterClient.open(port);
    clients.push(c);
    const head = Buffer.alloc(4);
    head.writeUInt32BE(1_000_000);
    c.socket.write(head);
    await new Promise<void>((r) => (c.closed ? r() : c.socket.once('close', () => r())));
    expect(c.closed).toBe(true);
  });

  it('a message over max_message_size is refused with 552 and nothing is held', async () => {
    const { open } = await milter({}, { maxMessageSize: 100 });
    const t = await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message: `Subject: big\r\n\r\n${'x'.repeat(500)}\r\n` });
    expect(t.eom).toEqual([{ kind: 'replycode', text: '552 5.3.4 Message size exceeds the limit of 100 bytes' }]);
  });

  it('several transactions and a new client on one connection (QUIT_NC) each get their own session', async () => {
    const { open } = await milter({ mailfrom: 'if vctx_conn :is "connection_message_count" "1" { ec_action 451 "4.7.0 second message on %{vctx_conn:remote_ip}"; }' });
    const c = await open();
    const first = await playTransaction(c, { client: { address: '192.0.2.1', port: 1 }, from: 'a@b.test', to: ['c@d.test'], message });
    expect(first.eom).toEqual([{ kind: 'continue' }]);
    expect(await c.send({ kind: 'mail', args: ['<a@b.test>'] })).toEqual([{ kind: 'replycode', text: '451 4.7.0 second message on 192.0.2.1' }]);
    await c.send({ kind: 'quit-nc' });
    const next = await playTransaction(c, { client: { address: '192.0.2.2', port: 2 }, from: 'a@b.test', to: ['c@d.test'], message });
    expect(next.mail).toEqual([{ kind: 'continue' }]);
    expect(POSTFIX_OFFER.version).toBe(6);
  });
});

describe('large messages (docs/postfix.md, "Large messages")', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });
  const spoolDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'smtp-cbv-milter-spool-'));
    dirs.push(d);
    return d;
  };
  // About 360 KB, sent as Postfix sends it: one frame per header field, the body in 64 KB chunks.
  const big = `From: a@sender.test\r\nSubject: big\r\n\r\n${'0123456789abcdef\r\n'.repeat(20_000)}tail marker\r\n`;

  it('past the spool threshold the message is written to a file as it arrives, the data phase reads it whole, and the file is gone before the answer', async () => {
    const dir = await spoolDir();
    const created: string[] = [];
    const watcher = watch(dir, (_event, name) => name && created.push(String(name)));
    try {
      const { open } = await milter(
        { data: 'require ["body"]; if allof (header :is "subject" "big", body :raw :contains "tail marker", size :over 300K) { ec_action 550 "5.7.1 read whole"; }' },
        { maxMessageSize: 1_000_000, messageInMemoryLimit: 64 * 1024, incomingDir: dir },
      );
      const t = await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message: big });
      expect(t.eom).toEqual([{ kind: 'replycode', text: '550 5.7.1 read whole' }]);
      expect(created.filter((n) => n.startsWith('incoming.')).length).toBeGreaterThan(0);
      expect(await readdir(dir)).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  it('a message within the threshold stays in memory: no file', async () => {
    const dir = await spoolDir();
    const { open } = await milter({ data: 'require ["body"]; if body :raw :contains "body line" { ec_action 550 "5.7.1 seen"; }' }, { messageInMemoryLimit: 64 * 1024, incomingDir: dir });
    const created: string[] = [];
    const watcher = watch(dir, (_event, name) => name && created.push(String(name)));
    try {
      const t = await playTransaction(await open(), { from: 'a@b.test', to: ['c@d.test'], message });
      expect(t.eom).toEqual([{ kind: 'replycode', text: '550 5.7.1 seen' }]);
      expect(created).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  it('past the memory budget the end of the message is answered 452 4.3.1 with a log line, and the budget comes back for the next', async () => {
    const dir = await spoolDir();
    const { logger, lines } = capturingLogger();
    // 100 KiB: a small message fits; a spooled one needs its write buffer and header section (320 KiB).
    const { open } = await milter({}, { maxMessageSize: 1_000_000, maxMessageMemory: 100 * 1024, messageInMemoryLimit: 64 * 1024, incomingDir: dir }, services({ logger }));
    const c = await open();
    const refused = await playTransaction(c, { from: 'a@b.test', to: ['c@d.test'], message: big });
    expect(refused.eom).toEqual([{ kind: 'replycode', text: '452 4.3.1 Insufficient system storage, try again later' }]);
    expect(lines.some((l) => l.event === 'message-memory')).toBe(true);
    expect(await readdir(dir)).toEqual([]);
    for (let i = 0; i < 3; i++) expect((await playTransaction(c, { from: 'a@b.test', to: ['c@d.test'], message })).eom).toEqual([{ kind: 'continue' }]);
  });

  it('a connection that closes mid-message leaves no file behind', async () => {
    const dir = await spoolDir();
    const { open } = await milter({}, { maxMessageSize: 1_000_000, messageInMemoryLimit: 1024, incomingDir: dir });
    const c = await open();
    await playTransaction(c, { from: 'a@b.test', to: ['c@d.test'] });
    await c.send({ kind: 'mail', args: ['<a@b.test>'] });
    await c.send({ kind: 'rcpt', args: ['<c@d.test>'] });
    await c.send({ kind: 'header', name: 'Subject', value: Buffer.from(' x') });
    await c.send({ kind: 'eoh' });
    await c.send({ kind: 'body', chunk: Buffer.alloc(60_000, 'x') });
    await expect.poll(() => readdir(dir)).toHaveLength(1);
    c.close();
    await expect.poll(() => readdir(dir)).toEqual([]);
  });
});
