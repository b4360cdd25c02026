/**
 * SPF, DKIM, ARC and DMARC through mailauth, reduced to what the session
 * keeps: each check's result word (RFC 8601 2.7), the identities it
 * judged, and the Authentication-Results clause mailauth formats for it
 * (its `info`). Nothing here knows the session or the configuration.
 *
 * A check never throws: a failure of the check itself (DNS down past the
 * deadline, a library error) is a `temperror` for that method, which is
 * what RFC 7208 2.6.6, RFC 6376 3.9 and RFC 7489 6.6.3 ask a receiver to
 * report when it could not reach a verdict.
 */
import { createRequire } from 'node:module';
import type { arc, dkimVerify, dmarc } from 'mailauth';
import type { Readable } from 'node:stream';
import type { AuthResolve } from './dns.js';
import { fieldNameAt } from '../field-name.js';

/**
 * mailauth is loaded on first use, not at start-up: a server without
 * these checks should not pay for its dependencies (joi, undici, tldts),
 * and loading undici installs its own global HTTP dispatcher, which then
 * serves every fetch() in the process.
 *
 * Required, not imported: mailauth is CommonJS, and in the command-line
 * bundle an import() fails once the bundle runs from its saved code cache
 * ("A dynamic import callback was not specified": Node 20 loses the
 * callback that src/cli/bundle-loader.ts gives when the code comes from a
 * cache made by another process), which made every check of `serve` fail.
 */
const requireHere = createRequire(import.meta.url);
let loaded: typeof import('mailauth') | undefined;

/** mailauth, loaded on first use (or by loadChecks): the one loader for the checks and for signing (src/session/dkim-signing.ts). */
export const mailauthModule = (): typeof import('mailauth') => (loaded ??= requireHere('mailauth') as typeof import('mailauth'));
const mailauth = async () => mailauthModule();

/**
 * Loads mailauth now, when a server is given checks to make: loading it
 * reads and runs its modules in one step, which held every session
 * 270 ms when the first message of a running server asked for a check.
 */
export function loadChecks(): void {
  mailauthModule();
}

export interface SpfOutcome {
  /** pass, fail, softfail, neutral, none, temperror, permerror (RFC 7208 2.6). */
  result: string;
  /** The domain the check was made for: the MAIL FROM domain, or the HELO name for the null sender (RFC 7208 2.4). */
  domain: string;
  /** mailauth's explanation, for logs and the header's comment. */
  comment: string;
  /** The Authentication-Results clause (`spf=... smtp.mailfrom=...`, RFC 8601 2.7.2). */
  info: string;
  /** The Received-SPF field (RFC 7208 9.1), without the trailing CRLF. */
  receivedSpf: string;
}

export interface SpfInput {
  ip: string;
  /** The reverse-path; "" for the null sender (then postmaster@helo is checked, RFC 7208 2.4). */
  sender: string;
  helo: string;
  /** Our name in the comments (RFC 7208 9.1 "receiver"). */
  receiver: string;
  timeoutMs: number;
}

export async function checkSpf(resolve: AuthResolve, input: SpfInput): Promise<SpfOutcome> {
  const fallbackDomain = input.sender.includes('@') ? input.sender.slice(input.sender.lastIndexOf('@') + 1).toLowerCase() : input.helo.toLowerCase();
  try {
    const { spf } = await mailauth();
    const r = await withDeadline(
      spf({ ip: input.ip, ...(input.sender ? { sender: input.sender } : {}), helo: input.helo, mta: input.receiver, resolver: resolve }),
      input.timeoutMs,
    );
    return {
      result: r.status.result,
      domain: r.domain,
      comment: r.status.comment ?? '',
      info: r.info,
      receivedSpf: r.header.replace(/\r?\n$/, ''),
    };
  } catch (e) {
    const comment = `${input.receiver}: SPF check of ${fallbackDomain} did not finish: ${(e as Error).message}`;
    return { result: 'temperror', domain: fallbackDomain, comment, info: `spf=temperror (${paren(comment)})`, receivedSpf: `Received-SPF: temperror (${paren(comment)}) client-ip=${input.ip};` };
  }
}

/** The HELO identity alone (RFC 7208 2.3): checked as if the sender were postmaster@helo. */
export async function checkHelo(resolve: AuthResolve, input: Omit<SpfInput, 'sender'>): Promise<SpfOutcome | null> {
  // An address literal is no domain to look up (RFC 7208 2.3 checks the HELO domain).
  if (!input.helo || input.helo.startsWith('[') || /^[\d.]+$/.test(input.helo) || input.helo.includes(':')) return null;
  const r = await checkSpf(resolve, { ...input, sender: '' });
  // mailauth labels the identity smtp.mailfrom=postmaster@helo; RFC 8601 2.7.2 names it smtp.helo.
  return { ...r, info: `spf=${r.result} smtp.helo=${input.helo}` };
}

export interface DkimSignature {
  /** The signing domain (d=). */
  domain: string;
  selector: string;
  result: string;
  info: string;
}

export interface MessageOutcome {
  dkim: { result: string; signatures: DkimSignature[]; infos: string[] };
  /** Null when ARC was not asked for. */
  arc: { result: string; info: string } | null;
  /** Null when DMARC was not asked for. */
  dmarc: { result: string; policy: string; domain: string; info: string } | null;
}

export interface MessageInput {
  /** The message whole, or a stream of it (a spooled message is not read into memory for this). */
  message: Buffer | Readable;
  /** The reverse-path (DKIM's envelope sender; not used for DMARC, which takes SPF's result). */
  sender: string;
  /** SPF's verdict at MAIL FROM, for DMARC's SPF alignment (RFC 7489 3.1.2). */
  spf: SpfOutcome | null;
  arc: boolean;
  dmarc: boolean;
  minKeyBits: number;
  timeoutMs: number;
  /**
   * Why the checks cannot run on this message, if they cannot: they are
   * then permerror, unrun (uncheckable below).
   */
  uncheckable?: string;
}

/** A From field of this many octets or more is not handed to mailauth (uncheckable). */
export const FROM_LIMIT = 64 * 1024;

/**
 * A message with more DKIM-Signature fields than this is not handed to
 * mailauth (uncheckable). RFC 6376 6.1: a verifier may limit the
 * signatures it tries, against denial of service. mailauth hashes the body
 * once for each signature's own canonicalization, algorithm and `l=`, in
 * the stream's data events: 30 signatures over a 10 MB body held every
 * other session 130 ms at a time, 400 over 2 MB 770 ms; 10, 40 ms. Mail
 * that went through a list and a forwarder carries three or four.
 */
export const MAX_DKIM_SIGNATURES = 10;

/**
 * Why mailauth must not see this message, or undefined: its header section
 * is longer than the host keeps apart (256 KiB, message-source.ts
 * HEAD_LIMIT), a From field is FROM_LIMIT octets or longer, or it has
 * more than MAX_DKIM_SIGNATURES signatures. mailauth
 * parses each From field whole with an address parser (nodemailer 8's)
 * whose time grows with the square of the field's length: 206 ms for
 * 256 KB, 13 s for 1 MB, each one step holding every session. Postfix's own
 * header_size_limit is 100 KB for the whole header section.
 */
export function uncheckable(head: Buffer | undefined, size: number, headLimit: number): string | undefined {
  if ((head?.length ?? size) > headLimit) return 'header section too large to check';
  if (!head) return undefined;
  // Field by field (RFC 5322 2.2): a line that starts with a space or a tab continues the field before it.
  let fieldStart = -1;
  let isFrom = false;
  let signatures = 0;
  for (let pos = 0; pos <= head.length; ) {
    let end = head.indexOf(10, pos);
    if (end < 0) end = head.length;
    const continues = pos < head.length && (head[pos] === 0x20 || head[pos] === 0x09);
    if (!continues) {
      if (isFrom && pos - fieldStart >= FROM_LIMIT) return 'From field too large to check';
      fieldStart = pos;
      isFrom = head.length - pos >= 5 && head.toString('latin1', pos, pos + 5).toLowerCase() === 'from:';
      if (fieldNameAt(head, pos, end) === 'dkim-signature') signatures++;
    }
    pos = end + 1;
  }
  if (signatures > MAX_DKIM_SIGNATURES) return `too many DKIM signatures to check (${signatures}, at most ${MAX_DKIM_SIGNATURES})`;
  return undefined;
}

/** Every check asked for, with one result and why (RFC 8601 2.7.1: temperror, permerror). */
function unchecked(result: 'temperror' | 'permerror', why: string, input: MessageInput): MessageOutcome {
  const comment = paren(why);
  return {
    dkim: { result, signatures: [], infos: [`dkim=${result} (${comment})`] },
    arc: input.arc ? { result, info: `arc=${result} (${comment})` } : null,
    dmarc: input.dmarc ? { result, policy: '', domain: '', info: `dmarc=${result} (${comment})` } : null,
  };
}

/**
 * DKIM (RFC 6376 6), then ARC over the same parse (RFC 8617 5.2), then
 * DMARC from the DKIM and SPF identities that passed (RFC 7489 4.2).
 */
export async function checkMessage(resolve: AuthResolve, input: MessageInput): Promise<MessageOutcome> {
  const deadline = Date.now() + input.timeoutMs;
  const left = () => Math.max(1, deadline - Date.now());
  if (input.uncheckable) return unchecked('permerror', input.uncheckable, input);
  const { arc, dkimVerify } = await mailauth();
  let dk: Awaited<ReturnType<typeof dkimVerify>>;
  try {
    dk = await withDeadline(dkimVerify(input.message, { resolver: resolve, sender: input.sender || undefined, minBitLength: input.minKeyBits }), left());
  } catch (e) {
    return unchecked('temperror', `DKIM check did not finish: ${(e as Error).message}`, input);
  }
  const signatures: DkimSignature[] = dk.results
    .filter((r) => r.status.result !== 'none')
    .map((r) => ({ domain: (r.signingDomain ?? '').toLowerCase(), selector: r.selector ?? '', result: r.status.result, info: r.info }));
  const dkim = { result: dkimSummary(signatures), signatures, infos: dk.results.map((r) => r.info) };

  let arcOutcome: MessageOutcome['arc'] = null;
  let arcResult: Awaited<ReturnType<typeof arc>> | undefined;
  if (input.arc) {
    try {
      arcResult = await withDeadline(arc(dk.arc as Parameters<typeof arc>[0], { resolver: resolve, minBitLength: input.minKeyBits }), left());
      arcOutcome = { result: arcResult.status.result, info: arcResult.info ?? `arc=${arcResult.status.result}` };
    } catch (e) {
      arcOutcome = { result: 'temperror', info: `arc=temperror (${paren((e as Error).message)})` };
    }
  }

  let dmarcOutcome: MessageOutcome['dmarc'] = null;
  if (input.dmarc) dmarcOutcome = await checkDmarc(resolve, dk, input.spf, arcResult, left());
  return { dkim, arc: arcOutcome, dmarc: dmarcOutcome };
}

async function checkDmarc(
  resolve: AuthResolve,
  dk: Awaited<ReturnType<typeof dkimVerify>>,
  spfOutcome: SpfOutcome | null,
  arcResult: Awaited<ReturnType<typeof arc>> | undefined,
  timeoutMs: number,
): Promise<NonNullable<MessageOutcome['dmarc']>> {
  const from = dk.headerFrom ?? [];
  // RFC 7489 6.6.1: a message without exactly one RFC5322.From address has no DMARC identity.
  if (from.length !== 1) return { result: 'permerror', policy: '', domain: '', info: `dmarc=permerror (${from.length ? 'multiple From addresses' : 'no From address'})` };
  const domain = from[0]!.slice(from[0]!.lastIndexOf('@') + 1).toLowerCase();
  try {
    const { dmarc } = await mailauth();
    const r = await withDeadline(
      dmarc({
        headerFrom: from,
        spfDomains: spfOutcome?.result === 'pass' ? [spfOutcome.domain] : [],
        dkimDomains: dk.results.filter((r) => r.status.result === 'pass').map((r) => ({ domain: r.signingDomain, aligned: r.status.aligned, underSized: r.status.underSized })),
        ...(arcResult ? { arcResult } : {}),
        resolver: resolve,
      }),
      timeoutMs,
    );
    if (!r) return { result: 'permerror', policy: '', domain, info: 'dmarc=permerror' };
    return { result: r.status.result, policy: r.policy ?? '', domain, info: r.info };
  } catch (e) {
    return { result: 'temperror', policy: '', domain, info: `dmarc=temperror (${paren((e as Error).message)}) header.from=${domain}` };
  }
}

/**
 * One word for all signatures: pass when any passes (RFC 6376 6.1: a
 * message is verified by any valid signature), else the most telling
 * failure: temperror before fail before the rest, so a script can tell
 * "try later" from "forged"; none without signatures.
 */
export function dkimSummary(signatures: readonly { result: string }[]): string {
  if (!signatures.length) return 'none';
  for (const word of ['pass', 'temperror', 'fail', 'permerror', 'policy', 'neutral']) if (signatures.some((s) => s.result === word)) return word;
  return signatures[0]!.result;
}

/** Text safe inside an RFC 5322 comment: no parentheses or backslashes, no line breaks. */
function paren(text: string): string {
  return text.replace(/[()\\\r\n]/g, ' ').replace(/\s+/g, ' ').trim();
}

/** mailauth cannot be cancelled; past the deadline its answer is ignored and the check is a temperror. */
function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${Math.round(ms)} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
