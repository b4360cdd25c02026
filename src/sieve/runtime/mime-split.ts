/**
 * Finds the MIME structure of a message (RFC 2045, 2046) with mailsplit,
 * the streaming splitter mailparser is built on: part boundaries, the
 * header section of every part, nesting (multipart/*, message/rfc822) and
 * the byte range of every body. The message goes through in chunks, and a
 * part's body is read from its octets only when a test asks for it.
 * Where mailsplit's choices differ from what Sieve needs, a small subclass
 * adapts them (mailsplit-adapter.ts).
 */
import type { SplitterChunk } from '@zone-eu/mailsplit/lib/types.js';
import { NO_LIMIT, type SieveNode, splitterClass } from './mailsplit-adapter.js';
import type { HeaderField } from './message.js';
import { headerFields } from './mime-heads.js';
import type { Octets } from './octets.js';

/**
 * What the splitter needs of the run's budget (cpu-budget.ts CpuBudget): it
 * counts while the splitter computes, not while other sessions run between
 * its chunks, and charge() throws once it is spent.
 */
export interface SplitBudget {
  charge(units: number): void;
  /** `yielding`: the wait is a turn the splitter lets other sessions have (cpu-budget.ts CpuBudget.suspend). */
  suspend(yielding?: boolean): void;
  resume(): void;
}

/** What a part found in the message needs to know to become a node of the tree. */
export interface FoundPart {
  /** Octet offsets: where its header section starts, where its body starts, where the part ends. */
  start: number;
  bodyStart: number;
  end: number;
  headers: HeaderField[];
  /** The boundary mailsplit split its parts by, when it did. */
  boundary: string | undefined;
  parent: FoundPart | undefined;
  /** True for the message inside a message/rfc822 part (the parent). */
  embedded: boolean;
  children: FoundPart[];
  /** The embedded message of a message/rfc822 part. */
  message: FoundPart | undefined;
  /** A part the splitter opened although the tree does not (past the depth limit): its parts count as its body. */
  closed: boolean;
}

/**
 * Splits the message into its parts. Nodes nested deeper than `maxDepth`
 * are not opened (their parts count as their body). The splitter works a
 * chunk of CHUNK octets (octets.ts) per turn of the event loop, so other
 * sessions run between chunks (the time slices a run keeps,
 * docs/sieve-interpreter.md); the budget counts all the time but those
 * turns and the waits for a spooled message's octets, and is charged by
 * the octets and by the part, so a run stops within its budget while
 * reading.
 */
export async function splitMime(octets: Octets, maxDepth: number, budget?: SplitBudget): Promise<FoundPart> {
  /** The parts that contain the current offset, outermost first. */
  const open: FoundPart[] = [];
  let offset = 0;
  let root: FoundPart | undefined;
  /*
   * The two octets before `offset` (-1: none yet), and the parts closed at
   * `offset` whose end waits for the octet there: where a part's text ends
   * depends on the octets around it (partEnd), and they are taken here, as
   * they pass, because reading them back from a spooled message would be a
   * file read per part.
   */
  let before1 = -1;
  let before2 = -1;
  let closing: FoundPart[] = [];
  /** Closes every open part inside `part`: they end where something of `part` (or outside it) begins. */
  const reach = (part: FoundPart | undefined) => {
    if (part && !open.includes(part)) return;
    while (open.length && open[open.length - 1] !== part) {
      const p = open.pop()!;
      p.end = offset;
      closing.push(p);
    }
  };
  /** The octets of the next chunk (or none: the end of the message) are here: the parts closed before them get their ends. */
  const passed = (bytes: Buffer | undefined) => {
    if (closing.length && (!bytes || bytes.length > 0)) {
      const at = bytes ? bytes[0]! : -1;
      for (const p of closing) p.end = partEnd(p, octets.length, at, before1, before2);
      closing = [];
    }
    if (!bytes || bytes.length === 0) return;
    before2 = bytes.length >= 2 ? bytes[bytes.length - 2]! : before1;
    before1 = bytes[bytes.length - 1]!;
  };
  /*
   * A node's part is kept on the node itself, not in a map from nodes to
   * parts: a map would keep every node mailsplit made (with its parsed
   * header objects, about a kilobyte) until the end, and a message of many
   * parts would then be hundreds of megabytes that every garbage
   * collection copies. A node lives on only while a part below it is read.
   */
  const partOf = (node: SieveNode): FoundPart | undefined => node.found ?? (node.parentNode ? partOf(node.parentNode) : undefined);
  const take = (chunk: SplitterChunk) => {
    if (chunk.type === 'node') {
      const node = chunk as SieveNode;
      const head = node.getHeaders();
      const parentNode = node.parentNode as SieveNode | false;
      const parent = parentNode ? partOf(parentNode) : undefined;
      budget?.charge(head.length + 256);
      reach(parent);
      passed(head);
      if (parent && parent.closed) {
        // Inside a part the tree does not open: its octets are that part's body.
        node.found = parent;
        offset += head.length;
        return;
      }
      const depth = parentNode ? parentNode.depth! + 1 : 0;
      const part: FoundPart = {
        start: offset,
        bodyStart: offset + head.length,
        end: -1,
        headers: headerFields(head),
        boundary: node._boundary ? node._boundary.toString('latin1') : undefined,
        parent,
        embedded: !!parent && parentNode !== false && parentNode.messageNode === true,
        children: [],
        message: undefined,
        closed: depth > maxDepth,
      };
      offset += head.length;
      node.found = part;
      node.depth = depth;
      if (!parent) root = part;
      else if (part.embedded) parent.message = part;
      else parent.children.push(part);
      open.push(part);
      return;
    }
    const value = (chunk as { value: Buffer }).value;
    budget?.charge(value.length);
    reach(partOf((chunk as { node: SieveNode }).node));
    passed(value);
    offset += value.length;
  };
  const splitter = new (splitterClass())(NO_LIMIT);
  splitter.budget = budget;
  splitter.found = take;
  const chunks = octets.chunks();
  try {
    if (Symbol.iterator in chunks) {
      for (const chunk of chunks) await splitter.feed(chunk);
    } else {
      const it = chunks[Symbol.asyncIterator]();
      for (;;) {
        // Waiting for the file is not the script's work.
        budget?.suspend();
        const r = await it.next();
        budget?.resume();
        if (r.done) break;
        await splitter.feed(r.value);
      }
    }
    await splitter.finish();
  } finally {
    budget?.resume();
  }
  reach(undefined);
  passed(undefined);
  if (!root) throw new Error('mailsplit found no message');
  return root;
}

/**
 * Where a part's text ends: a part ended by a delimiter line does not
 * include the line break before it (RFC 2046 5.1.1, "the CRLF preceding
 * the boundary delimiter line is conceptually attached to the boundary").
 * mailsplit gives that line break to the delimiter after a body, but leaves
 * it in the epilogue of a multipart or the last header line of a part
 * without a body.
 */
function partEnd(part: FoundPart, length: number, at: number, before1: number, before2: number): number {
  const end = part.end;
  if (end >= length) return length;
  if (at === CR || at === LF) return end;
  if (end - 1 >= part.start && before1 === LF) return end - 2 >= part.start && before2 === CR ? end - 2 : end - 1;
  return end;
}

const CR = 0x0d;
const LF = 0x0a;
