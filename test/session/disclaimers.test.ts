/**
 * Sieve++ disclaimer_add carried out (sieve-ref-disclaimer-add.md): the
 * text parts that are not attachments get the disclaimer, decoded and
 * written back as UTF-8; served through the delivery queue to a real next
 * hop, with Momentum's documented examples; and left alone, with a warning,
 * where the MTA beside smtp-cbv keeps the message.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishMessage } from '../../src/session/delivery-plan.js';
import { addDisclaimers, withDisclaimer } from '../../src/session/disclaimers.js';
import { bufferSource } from '../../src/session/message-source.js';
import { type RelayServer, startRelayServer } from '../helpers/relay-server.js';
import { largestWrite } from '../helpers/largest-write.js';

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
/** The decoded text of each leaf part, by its content type, as a reader sees it. */
async function texts(message: Buffer): Promise<Array<{ type: string; text: string }>> {
  const { Splitter } = (await import('@zone-eu/mailsplit')) as unknown as { Splitter: new (o: object) => NodeJS.ReadWriteStream };
  const out: Array<{ type: string; text: string; node: { getDecoder(): NodeJS.ReadWriteStream; charset: string } }> = [];
  const pending: Array<Promise<void>> = [];
  const s = new Splitter({ ignoreEmbedded: true });
  s.on('data', (d: { type: string; node?: never; value?: Buffer; contentType?: string; multipart?: string; getDecoder?: () => NodeJS.ReadWriteStream }) => {
    if (d.type === 'node' && !d.multipart) {
      const dec = d.getDecoder!();
      const chunks: Buffer[] = [];
      const entry = { type: d.contentType || 'text/plain', text: '', node: d as never };
      out.push(entry);
      pending.push(new Promise((res) => { dec.on('data', (c: Buffer) => chunks.push(c)); dec.on('end', () => { entry.text = new TextDecoder((entry.node as { charset?: string }).charset || 'utf-8').decode(Buffer.concat(chunks)); res(); }); }));
      (s as unknown as { current?: NodeJS.ReadWriteStream }).current = dec;
    } else if (d.type === 'body' && d.node && !(d.node as { multipart?: string }).multipart) {
      (s as unknown as { current: NodeJS.ReadWriteStream }).current.write(d.value!);
    } else if (d.type !== 'body') {
      (s as unknown as { current?: NodeJS.ReadWriteStream }).current?.end();
    }
  });
  await new Promise<void>((res) => { s.on('end', () => { (s as unknown as { current?: NodeJS.ReadWriteStream }).current?.end(); res(); }); s.end(message); });
  await Promise.all(pending);
  return out.map(({ type, text }) => ({ type, text }));
}

describe('adding disclaimers', () => {
  it('appends the plain text to a message that is one text part, which becomes MIME', async () => {
    const out = (await addDisclaimers(Buffer.from('From: a@b.test\r\nSubject: s\r\n\r\nhello\r\n'), [{ plain: 'Scanned.' }])).toString();
    expect(out).toBe('From: a@b.test\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\nMIME-Version: 1.0\r\n\r\nhello\r\nScanned.\r\n');
  });

  it('adds each text to the parts of its type that are not attachments, in their charset and encoding, and nothing else', async () => {
    const attachedMessage = 'From: x@y.test\r\nSubject: inner\r\n\r\ninner text\r\n';
    const message = Buffer.from(
      'From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n' +
        '--m\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n' +
        '--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9\r\n' +
        `--a\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64('<html><body><p>hi</p></body></html>')}\r\n--a--\r\n` +
        '--m\r\nContent-Type: text/plain; name="notes.txt"\r\nContent-Disposition: attachment; filename="notes.txt"\r\n\r\nattached notes\r\n' +
        `--m\r\nContent-Type: message/rfc822\r\n\r\n${attachedMessage}` +
        '--m--\r\n',
    );
    const out = await addDisclaimers(message, [{ plain: 'Scanned.', html: '<hr>Scanned' }]);
    expect(await texts(out)).toEqual([
      { type: 'text/plain', text: 'café\r\nScanned.' },
      { type: 'text/html', text: '<html><body><p>hi</p>\r\n<hr>Scanned\r\n</body></html>' },
      { type: 'text/plain', text: 'attached notes' },
      { type: 'message/rfc822', text: attachedMessage.replace(/\r\n$/, '') },
    ]);
    // The attachment and the attached message pass through octet for octet; no line ends in a bare LF.
    expect(out.toString('latin1')).toContain('Content-Disposition: attachment; filename="notes.txt"\r\n\r\nattached notes\r\n--m');
    expect(out.toString('latin1')).toContain(`Content-Type: message/rfc822\r\n\r\n${attachedMessage}--m--`);
    expect(out.toString('latin1')).not.toMatch(/[^\r]\n/);
    // The top-level header is untouched: the message was MIME already.
    expect(out.toString('latin1')).toMatch(/^From: a@b\.test\r\nMIME-Version: 1\.0\r\nContent-Type: multipart\/mixed; boundary="m"\r\n\r\n--m\r\n/);
  });

  it('hands a large message to the splitter, and its text to the encoder, in pieces: no stream is written the message whole', async () => {
    // Written whole, a 10 MB part was split and quoted-printable encoded in one event-loop turn of a quarter second
    // (docs/server.md, "Messages on disk"); the largest write any stream is given tells it without a clock.
    const lines = 'Caf=C3=A9 au lait, =E2=82=AC 3, en terrasse, tout le jour.\r\n'.repeat(80_000);
    const message = Buffer.from(`From: a@b.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${lines}`);
    const { value: out, largest } = await largestWrite(() => addDisclaimers(message, [{ plain: 'Scanned.' }]));
    expect(message.length).toBeGreaterThan(4_000_000);
    expect(largest).toBeLessThanOrEqual(256 * 1024);
    expect(await texts(out)).toEqual([{ type: 'text/plain', text: `${'Café au lait, € 3, en terrasse, tout le jour.\r\n'.repeat(80_000)}Scanned.\r\n` }]);
  });

  it('leaves a message with no part of the kind as it was', async () => {
    const html = Buffer.from('From: a@b.test\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n');
    expect(await addDisclaimers(html, [{ plain: 'Scanned.' }])).toBe(html);
  });

  it('keeps whether the text ended with a line break, and puts an HTML disclaimer inside the body element', () => {
    expect(withDisclaimer('a\r\n', 'plain', ['D'])).toBe('a\r\nD\r\n');
    expect(withDisclaimer('a', 'plain', ['D', 'E\nF'])).toBe('a\r\nD\r\nE\r\nF');
    expect(withDisclaimer('', 'plain', ['D'])).toBe('D');
    expect(withDisclaimer('<p>x</p>', 'html', ['<hr>'])).toBe('<p>x</p>\r\n<hr>');
    expect(withDisclaimer('<BODY>x</BODY></html>', 'html', ['<hr>'])).toBe('<BODY>x\r\n<hr>\r\n</BODY></html>');
  });

  it('keeps a message it cannot split as it came, with a warning, where a refusal made the client try again and again', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const plan = { stores: [{ folder: 'INBOX', recipients: ['b@c.test'] }], redirects: [], vacations: [], notifications: [], disclaimers: [{ plain: 'x' }] };
    // Past mailsplit's 1 MB of header section.
    const message = Buffer.from(`Subject: s\r\n${'X-F: 0123456789abcdefghijklmnopqrstuvwxyz\r\n'.repeat(30_000)}\r\nhi\r\n`);
    const out = await finishMessage(plan, bufferSource(message), {}, logger, { session: 's', transaction: 't' });
    expect(out).toEqual({ stores: plan.stores, redirects: [], vacations: [], notifications: [] });
    expect(lines).toEqual([expect.objectContaining({ event: 'disclaimer.skipped', session: 's', transaction: 't', err: 'Max header size for a MIME node exceeded' })]);
  });

  it('drops them with a warning where the MTA beside smtp-cbv keeps the message, changing nothing else', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, cb) => (lines.push(JSON.parse(String(chunk))), cb()) }));
    const plan = { stores: [{ folder: 'INBOX', recipients: ['b@c.test'] }], redirects: [], vacations: [], notifications: [], disclaimers: [{ plain: 'x' }] };
    const out = await finishMessage(plan, bufferSource(Buffer.from('Subject: s\r\n\r\nhi\r\n')), { keptElsewhere: true }, logger, { session: 's', transaction: 't' });
    expect(out).toEqual({ stores: plan.stores, redirects: [], vacations: [], notifications: [] });
    expect(lines).toEqual([expect.objectContaining({ event: 'disclaimer.unsupported', session: 's', transaction: 't' })]);
  });
});

const SCRIPT = `if envelope :domain :is "to" "plain.test" {
  $h = hash_create;
  hash_set $h "plain" "This email has been scanned for viruses";
  disclaimer_add $h;
}
`;

describe('disclaimer_add served', () => {
  let relay: RelayServer;
  beforeAll(async () => {
    relay = await startRelayServer(SCRIPT);
  });
  afterAll(async () => {
    await relay?.stop();
  });

  it('delivers the message with the disclaimer in its text, and others as they came', async () => {
    expect((await relay.send('alice@sender.test', ['bob@plain.test'], 'From: alice@sender.test\r\nSubject: hi\r\n\r\nhello there\r\n')).end?.code).toBe(250);
    expect((await relay.send('alice@sender.test', ['carol@other.test'], 'From: alice@sender.test\r\nSubject: hi\r\n\r\nhello there\r\n')).end?.code).toBe(250);
    const [withIt] = await relay.arrived(relay.gateway, 'bob@plain.test');
    const [without] = await relay.arrived(relay.gateway, 'carol@other.test');
    expect(await texts(Buffer.from(withIt!.data, 'latin1'))).toEqual([{ type: 'text/plain', text: 'hello there\r\nThis email has been scanned for viruses\r\n' }]);
    expect(without!.data).toMatch(/\r\n\r\nhello there\r\n$/);
  });
});

const DOCS = path.resolve('../shared/momentum-docs/scripts');
describe.skipIf(!existsSync(DOCS))("Momentum's documented examples (skipped: ../shared/momentum-docs is not beside the clone)", () => {
  let docs: RelayServer;
  beforeAll(async () => {
    const text = ['044-disclaimer-add-html.siv', '045-disclaimer-add-plain.siv'].map((f) => readFileSync(path.join(DOCS, f), 'utf8')).join('\n');
    docs = await startRelayServer(text);
  });
  afterAll(async () => {
    await docs?.stop();
  });

  it('adds the HTML example to the HTML part and the plain one to the text part of an alternative message', async () => {
    const body =
      'From: alice@sender.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="x"\r\n\r\n' +
      '--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x\r\nContent-Type: text/html\r\n\r\n<html><body>hello</body></html>\r\n--x--\r\n';
    expect((await docs.send('alice@sender.test', ['bob@here.test'], body)).end?.code).toBe(250);
    const [m] = await docs.arrived(docs.gateway, 'bob@here.test');
    const [plain, html] = await texts(Buffer.from(m!.data, 'latin1'));
    expect(plain).toEqual({ type: 'text/plain', text: 'hello\r\nThis email has been scanned for viruses' });
    expect(html!.type).toBe('text/html');
    expect(html!.text).toMatch(/^<html><body>hello\r\n<HR>\r\n <DIV align=center><FONT face=Arial size=2>This email has been scanned\r\n for viruses\.<\/FONT><\/DIV>\r\n <DIV>\r\n <HR>\r\n <\/DIV>\r\n<\/body><\/html>$/);
  });
});
