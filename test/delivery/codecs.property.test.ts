/**
 * Property tests for the delivery codecs: queue entry files (what goes in
 * comes out; a torn tail loses only the records it tore) and DSNs (any
 * reply text, any addresses: a well-formed report whose fields read back)
 * and the spool's journal records (the per-message record is the general one);
 * an entry read from its file without its message reads as the whole file decodes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { composeDsn, diagnosticCode, type DsnRecipient } from '../../src/delivery/dsn.js';
import { decodeEntry, encodeEntry, encodeRecords, type EntryHeader, type EntryRecord, newQueueId, QueueFiles } from '../../src/delivery/queue-file.js';
import { parseGateway } from '../../src/config/delivery.js';
import { formatGateway } from '../../src/config/gateway.js';
import { parseReply } from '../../src/delivery/smtp-sender.js';
import { parseDsn } from '../helpers/dsn-parse.js';
import { journalRecord, messageRecord, parseRecord } from '../../src/delivery/envelope-journal.js';

const reply = fc.record({ code: fc.integer({ min: 200, max: 599 }), text: fc.string({ maxLength: 200 }) }, { requiredKeys: ['code', 'text'] });
const record: fc.Arbitrary<EntryRecord> = fc.oneof(
  fc.record({ t: fc.constant('r' as const), i: fc.nat(5), s: fc.constantFrom('deferred' as const, 'delivered' as const, 'bounced' as const, 'expired' as const), at: fc.nat(), n: fc.nat(100), reply }),
  fc.record({ t: fc.constantFrom('flush' as const, 'delete' as const, 'bounce' as const), c: fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 12 }), at: fc.nat() }),
  fc.record({ t: fc.constant('notified' as const), i: fc.array(fc.nat(5), { maxLength: 5 }), at: fc.nat() }),
);
const header = fc.record({
  from: fc.string({ maxLength: 60 }),
  recipients: fc.array(fc.record({ address: fc.string({ maxLength: 60 }) }), { minLength: 1, maxLength: 5 }),
  receivedAt: fc.nat(),
});

describe('queue entry files', () => {
  it('decode what encode wrote: header, message bytes and records', () => {
    fc.assert(
      fc.property(header, fc.uint8Array({ maxLength: 2000 }), fc.array(record, { maxLength: 8 }), (h, bytes, records) => {
        const full: EntryHeader = { v: 1, id: newQueueId(), kind: 'message', size: 0, ...h };
        const message = Buffer.from(bytes);
        const data = Buffer.concat([...encodeEntry(full, message), encodeRecords(records)]);
        const back = decodeEntry(data);
        expect(back.header).toEqual({ ...full, size: message.length });
        expect(Buffer.compare(back.message, message)).toBe(0);
        expect(back.records).toEqual(records);
      }),
    );
  });

  it('read a file torn anywhere in its records as a prefix of them', () => {
    fc.assert(
      fc.property(header, fc.array(record, { minLength: 1, maxLength: 6 }), fc.nat(), (h, records, cut) => {
        const full: EntryHeader = { v: 1, id: newQueueId(), kind: 'message', size: 0, ...h };
        const head = Buffer.concat(encodeEntry(full, Buffer.from('Subject: x\r\n\r\nbody\r\n')));
        const tail = encodeRecords(records);
        const torn = Buffer.concat([head, tail.subarray(0, cut % (tail.length + 1))]);
        const back = decodeEntry(torn).records;
        expect(records.slice(0, back.length)).toEqual(back);
      }),
    );
  });
});

describe('queue entry files read without their message', () => {
  it('give what decode gives from the whole file: header and records, and the message where it lies, across header lines of any length', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'smtp-cbv-entry-property-'));
    try {
      const files = new QueueFiles(dir);
      await files.init();
      await fc.assert(
        fc.asyncProperty(header, fc.nat(3000), fc.uint8Array({ maxLength: 5000 }), fc.array(record, { maxLength: 6 }), fc.nat(), async (h, padding, bytes, records, cut) => {
          // Padding in the sender makes header lines around and past one 64 KiB read.
          const full: EntryHeader = { v: 1, id: newQueueId(), kind: 'message', size: 0, ...h, from: `${h.from}${'p'.repeat(padding * 30)}` };
          const message = Buffer.from(bytes);
          const tail = encodeRecords(records);
          // Torn anywhere in its records, as a crash while appending leaves it.
          const data = Buffer.concat([...encodeEntry(full, message), tail.subarray(0, cut % (tail.length + 1))]);
          await writeFile(files.path(full.id), data);
          const whole = decodeEntry(data);
          const e = await files.entry(full.id);
          expect(e.header).toEqual(whole.header);
          expect(e.records).toEqual(whole.records);
          expect(e.message.size).toBe(message.length);
          const chunks: Buffer[] = [];
          for await (const c of e.message.chunks()) chunks.push(Buffer.from(c));
          expect(Buffer.concat(chunks).equals(message)).toBe(true);
        }),
        { numRuns: 60 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('delivery status notifications', () => {
  const address = fc.oneof(fc.emailAddress(), fc.string({ minLength: 1, maxLength: 40 }));
  const recipient: fc.Arbitrary<DsnRecipient> = fc.record({
    address,
    action: fc.constantFrom('failed' as const, 'delayed' as const),
    status: fc.constantFrom('5.1.1', '4.4.1', '5.0.0', '4.7.5'),
    remoteMta: fc.domain(),
    reply,
  });

  it('are multipart/report whose per-recipient fields read back, whatever the remote said', () => {
    fc.assert(
      fc.property(fc.array(recipient, { minLength: 1, maxLength: 4 }), fc.string({ maxLength: 300 }), (recipients, original) => {
        const text = composeDsn({ reportingMta: 'relay.test', to: 'alice@sender.test', queueId: newQueueId(), arrivalDate: new Date(0), recipients, original: Buffer.from(original, 'utf8') }).toString('latin1');
        expect(text).toMatch(/^[\x20-\x7e\r\n\t\x80-\xff]*$/);
        const dsn = parseDsn(text);
        expect(dsn.reportType).toBe('delivery-status');
        expect(dsn.recipients).toHaveLength(recipients.length);
        dsn.recipients.forEach((r, i) => {
          const want = recipients[i]!;
          expect(r.get('action')).toBe(want.action);
          expect(r.get('status')).toBe(want.status);
          expect(r.get('diagnostic-code')).toBe(`smtp; ${diagnosticCode(want.reply!)}`);
        });
      }),
    );
  });
});

describe('Gateway values', () => {
  it('never throw, and read back a name or address with its port', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (text) => void parseGateway(text)));
    fc.assert(
      fc.property(fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6().map((a) => `[${a}]`)), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }), (host, port) => {
        const g = parseGateway(port === undefined ? host : `${host}:${port}`);
        expect(g, host).toBeDefined();
        expect(g!.port).toBe(port ?? null);
        // What ec_set_routing_gateway writes into a queue entry reads back as the same gateway.
        expect(parseGateway(formatGateway(g!)), host).toEqual(g);
      }),
    );
  });
});

describe('next-hop replies', () => {
  it('keep the code, the enhanced code and the text of any reply, and never throw', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => void parseReply(text, { code: 451, text: 'x' })));
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 599 }), fc.constantFrom('', '5.1.1 ', '4.2.0 '), fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,60}$/), (code, enhanced, text) => {
        fc.pre(enhanced !== '' || !/^[245]\.\d{1,3}\.\d{1,3}\s/.test(text));
        const r = parseReply(`${code} ${enhanced}${text}`, { code: 451, text: 'x' });
        expect(r.code).toBe(code);
        expect(r.enhanced).toBe(enhanced ? enhanced.trim() : undefined);
        expect(r.text).toBe(text);
      }),
    );
  });
});

describe('journal records', () => {
  it("messageRecord writes journalRecord's line for any envelope without an id or folder of its own", () => {
    // Field names, as an envelope has: an array index would be put first by any object (ECMA-262 OrdinaryOwnPropertyKeys).
    const key = fc.string({ maxLength: 12 }).filter((k) => k !== 'id' && k !== 'folder' && k !== '__proto__' && !/^(0|[1-9][0-9]*)$/.test(k));
    const value = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.boolean(), fc.constant(undefined), fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }));
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.dictionary(key, value, { maxKeys: 8 }), fc.string({ maxLength: 40 }), (id, envelope, folder) => {
        const line = messageRecord(id, envelope, folder);
        expect(line).toBe(journalRecord(id, { ...envelope, folder }));
        expect(parseRecord(line.slice(0, -1))).toMatchObject({ id, folder });
      }),
    );
  });
});
