/**
 * CIDR blocks of client addresses, for the per-IP series and connection
 * counts (counters.ts, src/store/connections.ts): an address is parsed
 * once, when first kept, and tested against blocks as numbers after that.
 * A query over a series of 100,000 addresses parsed every one of them with
 * ipaddr.js: about 110 ms of the event loop a query (bench/counters.bench.ts).
 */
import type Ipaddr from 'ipaddr.js';
import { ipaddr } from './ipaddr.js';

export type Block = [Ipaddr.IPv4 | Ipaddr.IPv6, number];

/** The CIDR block `ip/mask` (IPv4 or IPv6; an IPv4-mapped address is IPv4), or undefined when the address does not parse. */
export function blockOf(ip: string, mask: number): Block | undefined {
  if (!ipaddr().isValid(ip)) return undefined;
  const addr = ipaddr().process(ip);
  const max = addr.kind() === 'ipv4' ? 32 : 128;
  return [addr, Math.max(0, Math.min(max, Math.trunc(mask)))];
}

/** The normalised form of an address (ipaddr.js toNormalizedString, after process()), or null when it is not one. */
export function normalizedAddress(ip: string): string | null {
  return ipaddr().isValid(ip) ? ipaddr().process(ip).toNormalizedString() : null;
}

/** The one normalised address a block holds when it is a single address (/32, /128); else undefined. */
export function singleAddress(block: Block): string | undefined {
  return block[1] === (block[0].kind() === 'ipv4' ? 32 : 128) ? block[0].toNormalizedString() : undefined;
}

/**
 * An address as numbers, to test against blocks without parsing it again:
 * IPv4 as its 32 bits, IPv6 as its eight 16-bit groups.
 */
export type AddressBits = number | readonly number[];

/** The bits of a normalised address (as normalizedAddress makes it, and the series keep it); undefined when it is not one. */
export function addressBits(normalized: string): AddressBits | undefined {
  return normalized.includes(':') ? groupsOf(normalized) : ipv4Bits(normalized);
}

/** A test of addresses' bits against `block`; an address of the other family is never in it. */
export function bitsInBlock(block: Block): (a: AddressBits) => boolean {
  const [addr, bits] = block;
  if (addr.kind() === 'ipv4') {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const base = (ipv4Bits(addr.toNormalizedString())! & mask) >>> 0;
    return (a) => typeof a === 'number' && ((a & mask) >>> 0) === base;
  }
  const parts = (addr as Ipaddr.IPv6).parts;
  return (a) => {
    if (typeof a === 'number') return false;
    for (let i = 0, left = bits; left > 0; i++, left -= 16) {
      const m = left >= 16 ? 0xffff : (0xffff << (16 - left)) & 0xffff;
      if ((a[i]! & m) !== (parts[i]! & m)) return false;
    }
    return true;
  };
}

/** A test of normalised addresses against `block` (bitsInBlock, reading each string's bits); a string that is not one is never in it. */
export function inBlock(block: Block): (normalized: string) => boolean {
  const test = bitsInBlock(block);
  return (s) => {
    const a = addressBits(s);
    return a !== undefined && test(a);
  };
}

/** The 32 bits of a dotted IPv4 address (four decimal octets), as an unsigned number; undefined when it is not one. */
function ipv4Bits(s: string): number | undefined {
  let value = 0;
  let i = 0;
  for (let k = 0; k < 4; k++) {
    let octet = 0;
    const from = i;
    for (; i < s.length && s.charCodeAt(i) !== 0x2e; i++) {
      const d = digit(s.charCodeAt(i), 10);
      if (d < 0) return undefined;
      octet = octet * 10 + d;
    }
    if (i === from || octet > 255) return undefined;
    value = value * 256 + octet;
    // A dot after each of the first three octets, the end after the fourth.
    if (k < 3 && i++ >= s.length) return undefined;
  }
  return i === s.length ? value : undefined;
}

/** The eight groups of a normalised IPv6 address; undefined when it is not one. */
function groupsOf(s: string): number[] | undefined {
  const groups: number[] = [];
  let part = 0;
  let digits = 0;
  for (let i = 0; i <= s.length; i++) {
    if (i === s.length || s.charCodeAt(i) === 0x3a) {
      if (digits === 0 || digits > 4) return undefined;
      groups.push(part);
      part = 0;
      digits = 0;
      continue;
    }
    const d = digit(s.charCodeAt(i), 16);
    if (d < 0) return undefined;
    part = part * 16 + d;
    digits++;
  }
  return groups.length === 8 ? groups : undefined;
}

function digit(c: number, radix: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (radix === 16 && c >= 0x61 && c <= 0x66) return c - 0x57;
  if (radix === 16 && c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
