/**
 * Reading the MIME structure of a 10 MiB multipart message (some 2,400
 * parts: text, base64 attachments, nested multipart/alternative, an
 * embedded message) with the reader Sieve uses (mailsplit underneath,
 * src/sieve/runtime/mime-split.ts), against the hand-written whole-text
 * reader it replaced (bench/mime-legacy.ts), in the same run, rounds
 * alternating, medians reported:
 *   - parts/s and MB/s of building the tree;
 *   - the same with every part's body read once (the old reader read every
 *     body while building; the new one reads a body when a test asks);
 *   - heap and buffer memory the tree holds once built.
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parseMessage } from '../src/sieve/runtime/message.js';
import { type MimePart, readMimeTree, walkParts } from '../src/sieve/runtime/mime.js';
import { type LegacyPart, parseMime, walkParts as walkLegacy } from './mime-legacy.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SIZE = 10 * 1024 * 1024;
const ROUNDS = 7;

function message(): string {
  const text = `${'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.'.slice(0, 76)}\r\n`.repeat(40);
  const b64 = `${Buffer.alloc(57 * 40, 7).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < SIZE; i++) {
    let p: string;
    if (i % 10 === 9) {
      p = `Content-Type: multipart/alternative; boundary="alt${i}"\r\n\r\n--alt${i}\r\nContent-Type: text/plain\r\n\r\n${text}--alt${i}\r\nContent-Type: text/html\r\n\r\n<p>${text}</p>\r\n--alt${i}--\r\n`;
    } else if (i % 10 === 5) {
      p = `Content-Type: application/octet-stream; name="f${i}.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="f${i}.bin"\r\n\r\n${b64}`;
    } else if (i === 3) {
      p = `Content-Type: message/rfc822\r\n\r\nFrom: x@example.com\r\nSubject: inner\r\nContent-Type: text/plain\r\n\r\n${text}`;
    } else {
      p = `Content-Type: text/plain; charset=utf-8\r\n\r\n${text}`;
    }
    parts.push(`--outer\r\n${p}`);
    size += p.length;
  }
  return `From: a@example.com\r\nSubject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="outer"\r\n\r\npreamble\r\n${parts.join('')}--outer--\r\n`;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mem = () => {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};

const raw = message();
const bytes = Buffer.byteLength(raw);
const count = Array.from(walkLegacy(parseMime(raw))).length;
const check = Array.from(walkParts(await readMimeTree(parseMessage(raw)))).length;
if (check !== count) throw new Error(`the readers disagree: ${check} parts against ${count}`);
console.log(`message: ${(bytes / 1048576).toFixed(1)} MiB, ${count} parts; load average ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')}`);

let sink = 0;
const times = { old: [] as number[], new: [] as number[], oldBodies: [] as number[], newBodies: [] as number[] };
const held = { old: [] as number[], new: [] as number[] };
/** Reads every body of the tree once (in a function of its own: no local of the caller keeps the tree alive). */
function bodyLength(which: 'old' | 'new', tree: unknown): number {
  let n = 0;
  for (const p of which === 'old' ? walkLegacy(tree as LegacyPart) : walkParts(tree as MimePart)) n += p.body.length;
  return n;
}

/** Builds a tree, reads every body once; returns the times and the live memory while the tree is held. */
async function once(which: 'old' | 'new'): Promise<{ build: number; bodies: number; withTree: number }> {
  gc();
  const holder: { tree?: unknown } = {};
  let t = performance.now();
  holder.tree = which === 'old' ? parseMime(raw) : await readMimeTree(parseMessage(raw));
  const build = performance.now() - t;
  t = performance.now();
  sink += bodyLength(which, holder.tree);
  const bodies = build + performance.now() - t;
  gc();
  const withTree = mem();
  return { build, bodies, withTree };
}

for (let round = 0; round < ROUNDS; round++) {
  // Alternate which reader goes first, so that neither always runs on a warmer or cooler machine.
  for (const which of round % 2 ? (['new', 'old'] as const) : (['old', 'new'] as const)) {
    const r = await once(which);
    // Measured here, once `once` has returned: its frame no longer holds the tree.
    gc();
    const without = mem();
    times[which].push(r.build);
    times[which === 'old' ? 'oldBodies' : 'newBodies'].push(r.bodies);
    held[which].push(r.withTree - without);
  }
}

const row = (label: string, ms: number) => console.log(`${label.padEnd(44)} ${(count / (ms / 1000)).toFixed(0).padStart(8)} parts/s ${(bytes / 1048576 / (ms / 1000)).toFixed(1).padStart(7)} MB/s`);
row('tree, mailsplit reader', median(times.new));
row('baseline: tree, hand-written reader', median(times.old));
row('tree + every body read, mailsplit reader', median(times.newBodies));
row('baseline: tree + every body, hand-written', median(times.oldBodies));
console.log(`ratio tree mailsplit / hand-written (time):          ${(median(times.new) / median(times.old)).toFixed(2)}`);
console.log(`ratio tree + bodies mailsplit / hand-written (time): ${(median(times.newBodies) / median(times.oldBodies)).toFixed(2)}`);
if (sink < 0) console.log(sink);
console.log(`memory the tree holds: mailsplit ${(median(held.new) / 1048576).toFixed(1)} MiB, hand-written ${(median(held.old) / 1048576).toFixed(1)} MiB (ratio ${(median(held.new) / median(held.old)).toFixed(2)})`);
