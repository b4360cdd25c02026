/**
 * The resolve function mailauth's checks take (its `resolver` option), over
 * node's Resolver with the configured servers, so that SPF, DKIM, DMARC and
 * ARC ask the DNS the configuration names (tests: a server on loopback).
 *
 * mailauth expects `dns.promises.resolve`'s contract: TXT answers as arrays
 * of character-strings, and errors carrying node's codes. It tells "no
 * record" (ENOTFOUND, ENODATA: RFC 7208 4.4 "none", RFC 6376 6.1.2 no key)
 * from a failed look-up (SERVFAIL, timeout: RFC 7208 2.6.6 temperror) by
 * those codes, so they pass through untouched.
 */
import { Resolver } from 'node:dns/promises';

export type AuthResolve = (name: string, type: string) => Promise<string[][] | string[]>;

export interface AuthDnsOptions {
  /** "ip" or "ip:port"; empty: the system's resolvers. */
  servers?: readonly string[];
  timeoutMs?: number;
  tries?: number;
}

export function createAuthResolve(opts: AuthDnsOptions = {}): AuthResolve {
  const resolver = new Resolver({ timeout: opts.timeoutMs ?? 2000, tries: opts.tries ?? 2 });
  if (opts.servers?.length) resolver.setServers([...opts.servers]);
  return (name, type) => resolver.resolve(name, type) as Promise<string[][] | string[]>;
}
