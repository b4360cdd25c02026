/**
 * The connection context a listener gives a client: the listener's `Context`
 * array, overridden by the most specific `Peer` range that contains the
 * client's address (longest prefix wins, as in routing).
 */
import ipaddr from 'ipaddr.js';
import type { ListenerConfig } from './types.js';

export function peerContext(listener: ListenerConfig, remoteIp: string): Record<string, string> {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(remoteIp);
  } catch {
    return { ...listener.context };
  }
  let best: { bits: number; context: Record<string, string> } | undefined;
  for (const peer of listener.peers) {
    let range: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
      range = ipaddr.parseCIDR(peer.cidr);
    } catch {
      continue;
    }
    if (range[0].kind() !== addr.kind() || !addr.match(range)) continue;
    if (!best || range[1] > best.bits) best = { bits: range[1], context: peer.context };
  }
  return { ...listener.context, ...(best?.context ?? {}) };
}
