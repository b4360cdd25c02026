/**
 * RFC 5173: the body test with its transforms. :raw compares the undecoded
 * body as one string (5.1); :content compares the decoded parts whose type
 * matches (5.2: multiparts give their prologue and epilogue, message/rfc822
 * its header); :text (the default) compares the text of textual parts, HTML
 * reduced to its text (runtime/html-text.ts) as Pigeonhole does.
 */
import { andThen, matchSetup, matchTest } from '../interpreter.js';
import { containsMatch, isMatch, matchesMatch } from '../match/basic-match.js';
import { parseGlob } from '../match/glob.js';
import { asciiCasemap, type Comparator } from '../match/comparators.js';
import { containsInPieces } from '../match/contains-in-pieces.js';
import { cutBeforeSpaces, NoPlaceToCut } from '../match/cut-before-spaces.js';
import { type InOrderKey, inOrderInPieces, type Segment } from '../match/in-order-in-pieces.js';
import { OFFLOAD_CHARS } from '../match/match-pool.js';
import { inWorker, OFFLOAD_COMPARATORS } from '../match/match-types.js';
import { compileRegex, regexMatch } from '../match/regex-match.js';
import { type RegexReach, regexReach } from '../match/regex-reach.js';
import { WindowTooLong, windowsInPieces } from '../match/windows-in-pieces.js';
import type { CpuBudget } from '../runtime/cpu-budget.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Bound, Extension } from '../registry.js';
import { afterLoad, afterMimeTree, type MimePart, mimeTree, walkParts } from '../runtime/mime.js';
import { decodedBody, identityEncoding, textAsItIs, transferEncoding } from '../runtime/mime-decode.js';
import { decodedPieces } from '../runtime/decoded-pieces.js';
import { htmlText, htmlTextPieces } from '../runtime/html-text.js';

/** RFC 5173 5.2: "" matches every type, "text" a main type, "text/plain" exactly; anything else nothing. */
export function typeMatches(spec: string, type: string): boolean {
  const s = spec.toLowerCase();
  if (s === '') return true;
  if (!s.includes('/')) return type.split('/')[0] === s;
  return /^[^/]+\/[^/]+$/.test(s) && type === s;
}

function contentValues(part: MimePart, budget: CpuBudget): string[] {
  if (part.type.startsWith('multipart/')) return [part.preamble, part.epilogue];
  if (part.embedded) return [part.embedded.header];
  const text = decodedBody(part, budget);
  return text === null ? [] : [text];
}

const isHtml = (part: MimePart) => part.type === 'text/html' || part.type === 'application/xhtml+xml';
/** The parts :text reads. */
const textual = (part: MimePart) => isHtml(part) || /^text\/[^/]+$/.test(part.type);

/** What :text sees of a part: text/* as it is, HTML (and XHTML) as its text, nothing else. */
function textOf(part: MimePart, budget: CpuBudget): string | null {
  const html = isHtml(part);
  if (!textual(part)) return null;
  const text = decodedBody(part, budget);
  return text === null ? null : html ? htmlText(text) : text;
}

const NONE: string[] = [];

/**
 * Values of this many characters or more are each read and decoded in a
 * turn of their own: reading a part of megabytes from a spooled message,
 * decoding it and handing it to a match worker are each tens of
 * milliseconds, and together they held every other session at once.
 */
const LARGE_VALUE = 1 << 20;

/**
 * The values of `parts` from `from` on; in a time-sliced run, after a large
 * value the run lets the event loop go before it goes on. A part that
 * `pick` reads (`reads`) and whose octets are not at hand (a large part of
 * a spooled message) is waited for first, not read on the event loop.
 */
function collect(rt: Runtime, parts: MimePart[], from: number, values: string[], pick: (p: MimePart) => string[], reads: (p: MimePart) => 'body' | 'edges' | undefined): string[] | Promise<string[]> {
  for (let i = from; i < parts.length; i++) {
    const what = reads(parts[i]!);
    const later = what && afterLoad(parts[i]!.ready?.(what), rt.budget, () => collect(rt, parts, i, values, pick, reads));
    if (later) return later;
    let large = false;
    for (const v of pick(parts[i]!)) {
      values.push(v);
      if (v.length >= LARGE_VALUE) large = true;
    }
    if (large && rt.budget.sliceMs > 0) return rt.budget.pause().then(() => collect(rt, parts, i + 1, values, pick, reads));
  }
  return values;
}

/**
 * What :text (or :content, naming its type) compares of a leaf that can be
 * read as it comes: its decoded text (decodedBody) in pieces, from its raw
 * body's; under :text, an HTML part's text (html-text.ts) as it is
 * reduced. Undefined when the part is not such a leaf, its transfer
 * encoding is unknown, or its body is at hand (then it is read as before).
 */
function textPiecesOf(p: MimePart, wanted: ((p: MimePart) => boolean) | undefined): AsyncIterable<string> | undefined {
  if (p.children.length > 0 || p.embedded || p.tooDeep || p.type.startsWith('multipart/')) return undefined;
  if (wanted ? !wanted(p) : !textual(p)) return undefined;
  const cte = transferEncoding(p);
  if (!identityEncoding(cte) && cte !== 'base64' && cte !== 'quoted-printable') return undefined;
  const raw = p.bodyPieces?.();
  if (!raw) return undefined;
  // Text taken as it is needs no decoding, but for a byte order mark (decodedBody).
  const text = textAsItIs(p) ? withoutByteOrderMark(raw) : decodedPieces(p, raw);
  return text && !wanted && isHtml(p) ? htmlTextPieces(text) : (text ?? undefined);
}

/**
 * Keys up to this many are looked for in each piece of a body as it is read
 * (a few microseconds a key for a piece); more make each piece long work,
 * and the pieces are matched in windows that a worker thread takes
 * (contains-in-pieces.ts), or, for segments looked for in order, which
 * windows cannot split, the body is read whole.
 */
const INLINE_KEYS = 16;

/**
 * The strings a test looks for when it is a substring test: its keys under
 * :contains, and under :matches when every key is `*text*` (stars around
 * text without `?`: RFC 5228 2.7.1 makes that "contains text", and a key of
 * stars alone matches every value, as "" is contained in every value).
 * Undefined for anything else: that needs the value whole.
 */
export function substrings(b: Bound, keys: string[], cmp: Comparator, starred = starredKeys(b, keys, cmp)): string[] | undefined {
  if (!cmp.fold || !cmp.foldsEachCharacter) return undefined;
  if ((b.matchType?.def ?? isMatch) === containsMatch) return keys;
  const text = (k: InOrderKey) => k.texts[0] ?? '';
  if (!starred?.every((k) => k.start === '' && k.end === undefined && k.texts.length <= 1 && typeof text(k) === 'string')) return undefined;
  return starred.map((k) => text(k) as string);
}

/**
 * Every key of a :matches test as `S0*S1*...*Sn` (in-order-in-pieces.ts),
 * folded, each parsed once for both readers that use it (substrings,
 * inOrder); undefined when a key has no `*`, the test is not :matches, or
 * the comparator does not fold character by character.
 */
function starredKeys(b: Bound, keys: string[], cmp: Comparator): InOrderKey[] | undefined {
  if (!cmp.fold || !cmp.foldsEachCharacter || (b.matchType?.def ?? isMatch) !== matchesMatch) return undefined;
  const out: InOrderKey[] = [];
  // A segment without `?` is its text, found with indexOf; one with `?` is matched character by character.
  const segment = (seg: Array<string | null>): Segment => (seg.includes(null) ? seg : seg.join(''));
  for (const key of keys) {
    const { segments } = parseGlob(key, cmp.fold);
    if (segments.length < 2) return undefined;
    const last = segments.at(-1)!;
    out.push({
      start: segment(segments[0]!),
      texts: segments.slice(1, -1).filter((seg) => seg.length > 0).map(segment),
      ...(last.length > 0 ? { end: segment(last) } : {}),
    });
  }
  return out;
}

/**
 * The keys of a :matches test that can be decided in order, as a body is
 * read, when every key has a `*` (`S0*S1*...*Sn`: in-order-in-pieces.ts
 * says why that is a search for S1, then S2 after it, ..., in a value that
 * begins with S0 and ends with Sn), folded, for up to INLINE_KEYS keys.
 * Undefined for anything else: that needs the value whole.
 */
export function inOrder(b: Bound, keys: string[], cmp: Comparator, starred = starredKeys(b, keys, cmp)): InOrderKey[] | undefined {
  return keys.length > INLINE_KEYS ? undefined : starred;
}

/** How a test reads a body that is not at hand, as it comes: whether it matched, undefined when it needs the body whole after all. */
type ReadAsItComes = (pieces: AsyncIterable<string>) => Promise<boolean | undefined>;

/**
 * How a test reads a body as it comes: a substring test or a search for
 * texts in order decides from the pieces; a :regex of short matches from
 * windows of them, or answers undefined when a line is too long to cut,
 * and then the body (or part) is read whole.
 */
function readerFor(b: Bound, rt: Runtime, keys: string[], cmp: Comparator): ReadAsItComes | undefined {
  // A comparator that folds text between spaces on its own (i;unicode-casemap) reads pieces cut before spaces,
  // which it folds as one that folds each character does; for a few keys (windows are cut anywhere).
  if (!cmp.foldsEachCharacter && cmp.foldsBetweenSpaces && keys.length <= INLINE_KEYS && b.matchType?.def !== regexMatch) {
    const read = readerFor(b, rt, keys, { ...cmp, foldsEachCharacter: true, foldsBetweenSpaces: false });
    return (
      read &&
      ((pieces) =>
        read(cutBeforeSpaces(pieces, MAX_WINDOW_CHARS)).catch((e: unknown) => {
          if (e instanceof NoPlaceToCut) return undefined;
          throw e;
        }))
    );
  }
  const starred = starredKeys(b, keys, cmp);
  const looked = substrings(b, keys, cmp, starred);
  if (looked) {
    // Inline for a few keys, in windows matched as a value in memory (in a worker) for many.
    const wide = keys.length > INLINE_KEYS ? { chars: OFFLOAD_CHARS, match: (value: string) => matchWaiting(b, rt, [value], keys) } : undefined;
    return (pieces) => containsInPieces(pieces, looked, cmp, rt.budget, wide);
  }
  const ordered = inOrder(b, keys, cmp, starred);
  if (ordered) return (pieces) => inOrderInPieces(pieces, ordered, cmp, rt.budget);
  const reach = regexWindows(b, keys, cmp);
  return reach && ((pieces) => regexInWindows(b, rt, pieces, reach, keys));
}

/** Window edges by how much they need (windows-in-pieces.ts): a window cut for 'line' suits 'word' too. */
const EDGE_ORDER: ReadonlyArray<RegexReach['edges']> = ['none', 'word', 'line'];

/**
 * The reach of a :regex test's keys when a body can be matched in windows
 * as it is read: every key compiles, its matches are of bounded length or
 * made of repeats that leave some place they cannot run back over, and it
 * needs neither end of the value (regex-reach.ts). Undefined otherwise,
 * an invalid key included: the test over the whole value reports it. Only
 * for the comparators a match worker has: windows matched with another
 * would hold the event loop.
 */
export function regexWindows(b: Bound, keys: string[], cmp: Comparator): RegexReach | undefined {
  if (b.matchType?.def !== regexMatch || !OFFLOAD_COMPARATORS.has(cmp.name) || keys.length === 0) return undefined;
  let units = 0;
  let edges: RegexReach['edges'] = 'none';
  const repeats: NonNullable<RegexReach['repeats']> = [];
  for (const key of keys) {
    const re = compileRegex(key, cmp);
    const reach = typeof re === 'string' ? undefined : regexReach(re);
    if (!reach || reach.units > MAX_REACH) return undefined;
    units = Math.max(units, reach.units);
    if (EDGE_ORDER.indexOf(reach.edges) > EDGE_ORDER.indexOf(edges)) edges = reach.edges;
    if (reach.repeats) repeats.push(...reach.repeats);
  }
  return repeats.length ? { units, edges, repeats } : { units, edges };
}

/** Matches longer than this (UTF-16 units) make windows overlap too much: the body is matched whole. */
const MAX_REACH = 16 * 1024;
/**
 * Windows of a body matched by a :regex: small, so that a session holds
 * little of its body beyond the pieces being read. Each goes to a match
 * worker, whatever its length, when the run can wait (a server's): a
 * pattern can take re2js several microseconds a character (`a.{20}x` over
 * random a/b text, bench/ab-text.ts), which on the event loop would hold
 * every session a quarter of a second a window. Measured
 * (bench/latency.bench.ts): matched on the event loop, such windows gave
 * the other sessions a p99 of 1,251 ms.
 */
const WINDOW_CHARS = 32 * 1024;
/** A window that finds no place to cut by this many characters (a very long line or word) gives up for the whole body. */
const MAX_WINDOW_CHARS = 8 * WINDOW_CHARS;

/** :regex over a body read in windows; undefined when the body is to be matched whole after all. */
async function regexInWindows(b: Bound, rt: Runtime, pieces: AsyncIterable<string>, reach: RegexReach, keys: string[]): Promise<boolean | undefined> {
  try {
    const { mt, ctx } = matchSetup(b, rt, false);
    const offload = rt.budget.sliceMs > 0;
    for await (const window of windowsInPieces(pieces, reach, WINDOW_CHARS, MAX_WINDOW_CHARS, rt.budget)) {
      if (offload ? (await inWorker(mt, window, keys, ctx, rt.budget)).matched : await matchWaiting(b, rt, [window], keys)) return true;
    }
    return false;
  } catch (e) {
    if (e instanceof WindowTooLong) return undefined;
    throw e;
  }
}

/** matchTest, its clock stopped while a worker matches (as the interpreter stops it for any test that waits). */
function matchWaiting(b: Bound, rt: Runtime, values: string[], keys: string[]): boolean | Promise<boolean> {
  const r = matchTest(b, rt, values, keys, false);
  if (!(r instanceof Promise)) return r;
  rt.budget.suspend();
  return r.finally(() => rt.budget.resume());
}

/** The test over each of `bodies` in turn, as they are read; true at the first that matches. */
async function matchedInAny(bodies: ReadonlyMap<MimePart, AsyncIterable<string>>, read: ReadAsItComes, whole: (p: MimePart) => Promise<boolean>): Promise<boolean> {
  for (const [part, pieces] of bodies) if ((await read(pieces)) ?? (await whole(part))) return true;
  return false;
}

async function* withoutByteOrderMark(pieces: AsyncIterable<string>): AsyncGenerator<string> {
  let first = true;
  for await (const p of pieces) {
    yield first && p.charCodeAt(0) === 0xfeff ? p.slice(1) : p;
    first = false;
  }
}

export const body: Extension = {
  capability: 'body',
  commands: [
    {
      name: 'body',
      kind: 'test',
      families: ['comparator', 'match-type'],
      tags: [
        { name: 'raw', group: 'transform' },
        { name: 'text', group: 'transform' },
        { name: 'content', group: 'transform', args: [{ name: 'content types', type: 'stringlist' }] },
      ],
      positional: [{ name: 'key list', type: 'stringlist' }],
      needsMessage: true,
      evaluate(b, rt) {
        const msg = rt.requireMessage(b.node.pos);
        // RFC 5173 5: no empty line after the header, no body: every body test is false.
        if (!msg.hasBody) return false;
        const keys = rt.list(b.args[0]!);
        // Pigeonhole's body test leaves match values alone (body/match-values.svtest).
        // A substring test, or a search for substrings in order, reads a body not at hand as it comes,
        // never holding it whole; other tests need all of it.
        const cmp = b.comparator ?? b.def.defaultComparator ?? asciiCasemap;
        const read = readerFor(b, rt, keys, cmp);
        const inPieces = read !== undefined;
        if (b.tags.has('raw')) {
          const whole = () => afterLoad(msg.load?.(), rt.budget, () => b.def.evaluate!(b, rt)) ?? matchTest(b, rt, [msg.body], keys, false);
          const pieces = inPieces ? msg.bodyPieces?.() : undefined;
          return pieces ? read!(pieces).then((r) => r ?? whole()) : whole();
        }
        const later = afterMimeTree(msg, rt.budget, () => b.def.evaluate!(b, rt));
        if (later) return later;
        // A transform another extension attached gives its own values (Sieve++'s :binary), from any part: a large one is loaded first.
        for (const t of b.tags.values()) {
          if (t.spec?.values) return afterLoad(mimeTree(msg).ready?.('body'), rt.budget, () => b.def.evaluate!(b, rt)) ?? matchTest(b, rt, t.spec.values(b, rt), keys, false);
        }
        const content = b.tags.get('content');
        const specs = content?.args.flatMap((v) => rt.list(v));
        const wanted = specs && ((p: MimePart) => specs.some((s) => typeMatches(s, p.type)));
        let pick: (p: MimePart) => string[];
        let reads: (p: MimePart) => 'body' | 'edges' | undefined;
        if (wanted) {
          pick = (p) => (wanted(p) ? contentValues(p, rt.budget) : NONE);
          // contentValues: a multipart's preamble and epilogue, an embedded message's header (read with the tree), a leaf's body.
          reads = (p) => (!wanted(p) || p.embedded ? undefined : p.type.startsWith('multipart/') ? 'edges' : 'body');
        } else {
          pick = (p) => {
            const t = textOf(p, rt.budget);
            return t === null ? NONE : [t];
          };
          reads = (p) => (textual(p) ? 'body' : undefined);
        }
        // For a test read in pieces (above), a leaf's text that is not at hand (a large part of a spooled
        // message) is not loaded: it is read and decoded as it comes, once the values at hand have not matched.
        const streamed = new Map<MimePart, AsyncIterable<string>>();
        const inMemory = { pick, reads };
        if (inPieces) {
          const deferred = (p: MimePart) => {
            if (streamed.has(p)) return true;
            const pieces = textPiecesOf(p, wanted);
            if (pieces) streamed.set(p, pieces);
            return pieces !== undefined;
          };
          reads = (p) => (deferred(p) ? undefined : inMemory.reads(p));
          pick = (p) => (streamed.has(p) ? NONE : inMemory.pick(p));
        }
        return andThen(collect(rt, Array.from(walkParts(mimeTree(msg))), 0, [], pick, reads), (values) => {
          // A part whose windows cannot be cut is loaded (against the budget) and matched whole.
          const whole = async (p: MimePart) => {
            await afterLoad(p.ready?.('body'), rt.budget, () => undefined);
            return matchWaiting(b, rt, inMemory.pick(p), keys);
          };
          const rest = (matched: boolean) => (matched || streamed.size === 0 ? matched : matchedInAny(streamed, read!, whole));
          const r = matchWaiting(b, rt, values, keys);
          return r instanceof Promise ? r.then(rest) : rest(r);
        });
      },
    },
  ],
};
