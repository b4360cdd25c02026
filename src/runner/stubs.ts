/**
 * What a dry run puts where the network would be: canned CBV verdicts and
 * DNS answers. A call nobody stubbed is an error that names the call, never
 * a probe or a query: a policy test must not depend on the Internet.
 */
import type { VerifyOptions } from '../cbv/engine.js';
import type { CbvVerifier } from '../cbv/sieve-function.js';
import { type CbvReason, type CbvStage, type CbvStatus, STATUS_OF, type Verdict, resultOf } from '../cbv/types.js';

/** A canned verdict for one address: the status and, optionally, what the remote said. */
export interface CbvStub {
  status: CbvStatus;
  /** The remote reply, e.g. "550 5.1.1 no such user"; becomes smtp_cbv_reply and the function's message. */
  reply?: string;
  /** smtp_cbv_reason; default by status (pass: accepted, fail: rejected, error: nxdomain, transient: tempfail). */
  reason?: CbvReason;
}

/** Stubs by address (case-insensitive); `default` answers any other address. */
export interface CbvStubs {
  addresses?: Record<string, CbvStub>;
  default?: CbvStub;
}

export interface CbvCall {
  address: string;
  sender?: string;
  /** Who asked: the smtp_cbv module's automatic probe, or the Sieve function. */
  by: 'module' | 'function';
  status?: CbvStatus;
  /** The call had no stub: the run is in error. */
  error?: string;
}

export const CBV_STATUSES: readonly CbvStatus[] = ['pass', 'fail', 'error', 'transient'];

const DEFAULT_REASON: Record<CbvStatus, CbvReason> = { pass: 'accepted', fail: 'rejected', error: 'nxdomain', transient: 'tempfail' };
const STAGE_OF: Partial<Record<CbvReason, CbvStage>> = { nxdomain: 'dns', 'null-mx': 'dns', 'no-address': 'dns', 'dns-servfail': 'dns', 'dns-timeout': 'dns', 'dns-error': 'dns' };

/** What a stub verifier stands in for: its Sieve function and the case-file key of its stubs. */
export interface StubKind {
  fn: string;
  key: string;
  what: string;
}
export const CBV_STUBS: StubKind = { fn: 'smtp_callback_verify', key: 'cbv', what: 'CBV' };
/** The recipient call-ahead's function (docs/recipient-verification.md); its stubs are `recipient_verify:`. */
export const RECIPIENT_STUBS: StubKind = { fn: 'smtp_recipient_verify', key: 'recipient_verify', what: 'recipient call-ahead' };

const noStub = (k: StubKind) => `no ${k.what} stub for this address (add one under ${k.key}:)`;

/** The "no stub" message in the form the Sieve function reports it (src/cbv/sieve-function.ts). */
export function missingCbvStub(address: string, kind: StubKind = CBV_STUBS): string {
  return `${kind.fn} "${address}": ${noStub(kind)}`;
}

/** A CbvVerifier answering from stubs and recording every call. */
export class StubVerifier implements CbvVerifier {
  readonly calls: CbvCall[] = [];
  /** Set while the module's probe runs, so the call is attributed to it. */
  by: CbvCall['by'] = 'function';

  constructor(
    private readonly stubs: CbvStubs,
    private readonly kind: StubKind = CBV_STUBS,
  ) {}

  async verify(address: string, opts: VerifyOptions = {}): Promise<Verdict> {
    const call: CbvCall = { address, by: this.by, ...(opts.sender !== undefined ? { sender: opts.sender } : {}) };
    this.calls.push(call);
    const stub = this.lookup(address);
    if (!stub) {
      call.error = missingCbvStub(address, this.kind);
      throw new Error(noStub(this.kind));
    }
    call.status = stub.status;
    return verdictOf(address, opts.sender ?? '', stub);
  }

  private lookup(address: string): CbvStub | undefined {
    const want = address.toLowerCase();
    for (const [k, v] of Object.entries(this.stubs.addresses ?? {})) if (k.toLowerCase() === want) return v;
    return this.stubs.default;
  }
}

/** The Verdict the engine would have produced for this outcome. */
export function verdictOf(address: string, sender: string, stub: CbvStub): Verdict {
  const reason = stub.reason ?? DEFAULT_REASON[stub.status];
  const stage: CbvStage = STAGE_OF[reason] ?? (reason === 'rejected' || reason === 'accepted' || reason === 'tempfail' ? 'rcpt' : 'policy');
  return {
    status: stub.status,
    result: resultOf(stub.status),
    stage,
    reason,
    address,
    sender,
    ...(stub.reply !== undefined ? { reply: stub.reply } : {}),
    message: stub.reply ?? reason,
    cached: false,
    durationMs: 0,
    transcript: [],
  };
}

/** A reason must travel with its own status (cbv/types.ts STATUS_OF): the stub's, or a message saying why not. */
export function checkStub(stub: CbvStub): string | null {
  if (stub.reason === undefined) return null;
  if (!(stub.reason in STATUS_OF)) return `unknown CBV reason "${stub.reason}"`;
  const status = STATUS_OF[stub.reason];
  return status === stub.status ? null : `reason "${stub.reason}" goes with status ${status}, not ${stub.status}`;
}

/** DNS answers by "name TYPE" (e.g. "2.0.0.127.zen.example A"); the name is case-insensitive. */
export type DnsStubs = Record<string, string[]>;

export interface DnsCall {
  name: string;
  type: string;
  answers?: string[];
  error?: string;
}

/** ec_dns_lookup's host callback over stubs; records every query. */
export function stubDnsLookup(stubs: DnsStubs, calls: DnsCall[]): (name: string, type: string) => Promise<string[]> {
  const table = new Map(Object.entries(stubs).map(([k, v]) => [dnsKey(k), v]));
  return async (name, type) => {
    const call: DnsCall = { name, type };
    calls.push(call);
    const answers = table.get(dnsKey(`${name} ${type}`));
    if (!answers) {
      call.error = `no DNS stub for "${name} ${type.toUpperCase()}" (add one under dns:)`;
      throw new Error(call.error);
    }
    call.answers = answers;
    return answers;
  };
}

function dnsKey(k: string): string {
  const [name = '', type = 'A'] = k.trim().split(/\s+/);
  return `${name.toLowerCase().replace(/\.$/, '')} ${type.toUpperCase()}`;
}

/** An id RFC 7352's duplicate list holds when a dry run starts (a case's `duplicates:`), tested under `handle` (none by default). */
export interface SeenId {
  handle?: string;
  id: string;
}

