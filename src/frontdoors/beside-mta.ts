/**
 * What the two front doors that sit beside another MTA (the Postfix policy
 * service and the milter) share: the MTA keeps the mail, so accepting a
 * message stores nothing here; the MTA gives up on us after its own
 * timeout, so every reply is bounded by a deadline; and addresses come as
 * the MTA has them (`<a@b>`, `<>`).
 */
import type { MessageStore } from '../session/session.js';

/**
 * The MTA queues the message itself (Postfix keeps it whatever we answer,
 * unless we reject or discard): nothing to store, nothing to roll back.
 * Like the dry run's store, it names no copy.
 */
export const keptByMta: MessageStore = {
  store: async () => [],
  keptElsewhere: true,
};

/** `<a@b>` -> `a@b`; `<>` -> `` (the null sender); a bare address stays as it is. */
export function unbracket(address: string): string {
  const a = address.trim();
  return a.startsWith('<') && a.endsWith('>') ? a.slice(1, -1) : a;
}

/** Waits `ms`, never past `until` (a Date.now() value): a tarpit must not outlast the MTA's patience. */
export function delayWithin(ms: number, until: number): Promise<void> {
  const wait = Math.min(ms, until - Date.now());
  return wait > 0 ? new Promise((r) => setTimeout(r, wait)) : Promise.resolve();
}
