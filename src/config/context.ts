/**
 * What a listener gives a client: the listener's `Context` array and limits,
 * overridden by the most specific `Peer` range that contains the client's
 * address (longest prefix wins, as in routing).
 */
import ipaddr from 'ipaddr.js';
import type { ListenerConfig, PeerConfig } from './types.js';

export function peerContext(listener: ListenerConfig, remoteIp: string): Record<string, string> {
  return { ...listener.context, ...(bestPeer(listener, remoteIp)?.context ?? {}) };
}

/** The limits on recipients and messages for a client (src/session/limits.ts): its most specific Peer's, else the listener's. */
export function peerLimits(listener: ListenerConfig, remoteIp: string): ListenerConfig['limits'] {
  return bestPeer(listener, remoteIp)?.limits ?? listener.limits;
}

/**
 * Each Peer's range, parsed once: both look-ups above run for every
 * connection, and parsing every range of the listener each time was work
 * done again and again.
 */
const ranges = new WeakMap<PeerConfig, [ipaddr.IPv4 | ipaddr.IPv6, number] | null>();
function rangeOf(peer: PeerConfig): [ipaddr.IPv4 | ipaddr.IPv6, number] | null {
  let range = ranges.get(peer);
  if (range === undefined) {
    try {
      range = ipaddr.parseCIDR(peer.cidr);
    } catch {
      range = null;
    }
    ranges.set(peer, range);
  }
  return range;
}

/** The most specific Peer range that holds the address (longest prefix), if any. */
function bestPeer(listener: ListenerConfig, remoteIp: string): PeerConfig | undefined {
  if (!listener.peers.length) return undefined;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(remoteIp);
  } catch {
    return undefined;
  }
  let best: { bits: number; peer: PeerConfig } | undefined;
  for (const peer of listener.peers) {
    const range = rangeOf(peer);
    if (!range || range[0].kind() !== addr.kind() || !addr.match(range)) continue;
    if (!best || range[1] > best.bits) best = { bits: range[1], peer };
  }
  return best?.peer;
}
