/**
 * The DKIM signatures ec_dkim_sign asked for (src/sievepp/functions/dkim-sign.ts),
 * made over the message as the policy left it: after every header edit of
 * every phase (delivery-plan.ts), over the octets the store writes. Each
 * DKIM-Signature field goes on top of the header (RFC 6376 5.6); a second
 * request signs the message with the first signature already on it.
 *
 * What is added after this is not signed: the Received: field each stored
 * copy gets (src/delivery/received.ts) goes above the signature, as a
 * trace field added in transit does (RFC 6376 5.4: verifiers take the
 * signed fields from the bottom up, so a new field of the same name on top
 * changes nothing). Every copy of a message (each folder, each recipient,
 * a redirect) carries the same signed message below its own Received:.
 *
 * mailauth signs (its dkimSign), loaded on the first signature: mailauth
 * and node:crypto are not for a server, or a `check`, that never signs.
 * Required, not imported, for the reason src/auth/checks.ts gives.
 *
 * The message goes to mailauth a piece an event-loop turn (src/in-turns.ts):
 * handed a Buffer, mailauth writes its next 64 KiB to the signer when the
 * last has drained, a microtask later, so a whole message was hashed in one
 * turn with every other session waiting (0.4 s for 10 MB on this project's
 * test machine).
 */
import { mailauthModule as mailauth } from '../auth/checks.js';
import { inTurns } from '../in-turns.js';
import type { DkimRequest } from '../sievepp/functions/dkim-params.js';
import { HEAD_LIMIT } from './message-source.js';

/** A body length limit: l= states the whole canonical body (RFC 6376 3.5), which is what Momentum's body_length_limit writes. */
const WHOLE_BODY = Number.MAX_SAFE_INTEGER;

/** `message` with one DKIM-Signature field on top per request, in order. */
export async function signMessage(message: Buffer, requests: readonly DkimRequest[]): Promise<Buffer> {
  let out = message;
  for (const r of requests) {
    const now = new Date();
    const signed = await mailauth().dkimSign(inTurns(out), {
      signTime: now,
      ...(r.lifetimeHours > 0 ? { expires: new Date(now.getTime() + r.lifetimeHours * 3_600_000) } : {}),
      // mailauth reads the list as a colon-separated string (its types say string[]; an array is taken as "none given").
      ...(r.headerList !== undefined ? { headerList: r.headerList as unknown as string[] } : {}),
      signatureData: [
        {
          signingDomain: r.signingDomain,
          selector: r.selector,
          privateKey: r.privateKey,
          canonicalization: r.canonicalization,
          algorithm: r.algorithm,
          ...(r.bodyLengthLimit ? { maxBodyLength: WHOLE_BODY } : {}),
        },
      ],
    } as Parameters<typeof import('mailauth').dkimSign>[1]);
    const failure = signed.errors?.[0] as { err?: Error } | undefined;
    // The key was read and parsed when the script ran; a signature that still fails is not silently left off.
    if (failure || !signed.signatures.trim()) throw new Error(`DKIM signing for ${r.selector}._domainkey.${r.signingDomain} failed: ${failure?.err?.message ?? 'no signature made'}`);
    out = Buffer.concat([Buffer.from(signed.signatures, 'latin1'), out]);
  }
  return out;
}

/**
 * Whether `message`'s header section is longer than HEAD_LIMIT: mailauth
 * parses a header section whole, in one event-loop turn (half a second
 * for 9 MB of fields), so such a message is not signed, as a header
 * section that long is not checked (src/auth/checks.ts, uncheckable).
 */
export function headerTooLargeToSign(message: Buffer): boolean {
  if (message.length <= HEAD_LIMIT) return false;
  const start = message.subarray(0, HEAD_LIMIT + 4);
  return start.indexOf('\r\n\r\n') < 0 && start.indexOf('\n\n') < 0;
}
