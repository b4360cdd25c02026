/**
 * IPv6 entries of rbldnsd's data (rbldnsd(8), "ip6trie Dataset" and
 * "ip6tset Dataset"): a prefix of one to eight 16-bit groups of hex
 * digits, its length the groups written (`2001:21ab:def7:4242` is a /64,
 * "trailing :0s can be omitted"), or 128 when `::` stands for the groups
 * not written (`::1`, `2605:6001:42::bead`); `/len` (0-128) after it sets
 * the length. A lone group without `/len` is no address, as rbldnsd has
 * it. Ranges (`a-b`) are not read: rbldnsd has none for IPv6 and
 * Momentum's cidrdb refuses them (4/lua/ref-msys-cidr-define.md).
 *
 * A value after an IPv6 address is set apart by white space: the `:` of
 * `:A:TXT` would read as one more group (4/lua/ref-msys-cidr-define.md:
 * "1111::0000 :", not "1111::0000:"). After `/len` a `:` cannot be a
 * group, and a value may follow at once, as rbldnsd reads it.
 */
import { ipaddr } from './ipaddr.js';

/** An IPv6 entry: its block's first address (host bits cleared, as the ip4set reader clears them), length, the length its groups imply, and what follows it. */
export interface Ip6Entry {
  cidr: string;
  /** The length the groups written give (16 a group, 128 with `::`). */
  written: number;
  /** Whether `/len` was written. */
  slash: boolean;
  rest: string;
}

const ADDRESS = /^([0-9A-Fa-f:]+)(?:\/(\d{1,3}))?/;
const GROUP = /^[0-9A-Fa-f]{1,4}$/;

/** The groups of `text` split at `:`, none for an empty text. */
const groupsOf = (text: string): string[] => (text === '' ? [] : text.split(':'));

/** The IPv6 entry at the start of `text`, or undefined when it does not read as one. */
export function ip6Entry(text: string): Ip6Entry | undefined {
  const m = ADDRESS.exec(text);
  if (!m) return undefined;
  const halves = m[1]!.split('::');
  if (halves.length > 2) return undefined;
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head.every((g) => GROUP.test(g)) || !tail.every((g) => GROUP.test(g))) return undefined;
  const compressed = halves.length === 2;
  if (compressed ? head.length + tail.length > 7 : head.length < 1 || head.length > 8) return undefined;
  const slash = m[2] !== undefined;
  if (!compressed && head.length === 1 && !slash) return undefined;
  const written = compressed ? 128 : 16 * head.length;
  const bits = slash ? Number(m[2]) : written;
  if (bits > 128) return undefined;
  const rest = text.slice(m[0].length);
  if (rest !== '' && !/^[\s#;]/.test(rest) && !(slash && rest.startsWith(':'))) return undefined;
  const zeros = 8 - head.length - tail.length;
  const words = [...head, ...new Array<string>(zeros).fill('0'), ...tail].map((g) => parseInt(g, 16));
  // The block's own first address: the bits past its length cleared.
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - 16 * i));
    words[i] = keep === 0 ? 0 : words[i]! & ((0xffff << (16 - keep)) & 0xffff);
  }
  return { cidr: `${new (ipaddr().IPv6)(words).toString()}/${bits}`, written, slash, rest };
}

/** Whether an entry is to be read as IPv6 first: its first character that is not a decimal digit is a `:` or a hex letter. */
export const looksIp6 = (entry: string): boolean => /^[0-9]*[:A-Fa-f]/.test(entry);
