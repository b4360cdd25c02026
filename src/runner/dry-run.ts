/**
 * dryRun: one SMTP session played against a policy without sockets or
 * network. It drives the same session machine as the server
 * (src/session/session.ts): the same phases in the same order, the same
 * context variables, the same replies (success ones included), the same
 * delivery plan. CBV and DNS answer from stubs; a call without one is an
 * error that names it; nothing is stored.
 *
 * The session stops where the server's would: a refused connect, EHLO or
 * MAIL FROM, a disconnect, or no accepted recipient before DATA.
 */
import type { Config } from '../config/index.js';
import { type Diagnostic, hasErrors } from '../diagnostics.js';
import { functionServices } from '../policy/functions.js';
import { MemoryCounterStore } from '../sievepp/counters.js';
import { PHASES, type Phase } from '../session/phases.js';
import { type PolicyObserver, type ScriptSlot, SievePolicy } from '../session/policy.js';
import { type Reply, wireText } from '../session/reply.js';
import { SenderVerification } from '../session/sender-verification.js';
import { type DeliveryPlan, type MessageStore, type PhaseOutcome, Session, type SessionServices } from '../session/session.js';
import { type Action, type CompiledScript, duplicateKey, type TraceEvent } from '../sieve/index.js';
import { type DryRunConnection, type ModuleSettings, type PhaseSource, type PolicyParts, partsFromConfig, partsFromScripts, silentLogger } from './session.js';
import { type AuthStub, StubAuthentication } from './auth-stub.js';
import { type CbvCall, type CbvStubs, type DnsCall, type DnsStubs, RECIPIENT_STUBS, type SeenId, StubVerifier, stubDnsLookup } from './stubs.js';
import { LocalConnections } from '../store/connections.js';
import { type DuplicateStore, MemoryDuplicates } from '../store/duplicates.js';

export interface DryRunOptions {
  /** A loaded configuration: its scripts, listener context and smtp_cbv module, as `serve` would use them. */
  config?: Config;
  /** Or scripts by phase (text, or {file}). */
  scripts?: Partial<Record<Phase, PhaseSource>>;
  /** With `scripts`: the smtp_cbv module's settings (default: passive, only the Sieve function verifies). */
  cbvModule?: ModuleSettings;
  /**
   * The phases to report. The session still passes through every phase
   * before the last one listed, since earlier phases set variables and
   * start the CBV probe. Default: all, up to each_rcpt when there is a
   * message (spool and each_rcpt are reported when the policy has scripts
   * there: they run inside DATA's answer, docs/server.md "Phases").
   */
  phases?: Phase[];
  connection?: DryRunConnection;
  envelope: { from: string; to: string[] };
  /** The message at DATA (RFC 5322 text, LF or CRLF). */
  message?: string | Buffer;
  cbv?: CbvStubs;
  /** Canned verdicts for smtp_recipient_verify (docs/recipient-verification.md); the automatic call-ahead is not played. */
  recipientVerify?: CbvStubs;
  dns?: DnsStubs;
  /** What SPF, DKIM, ARC and DMARC concluded (docs/testing-policies.md); absent: nothing is checked, as without spf_v1, dkim_validate and dmarc. */
  authentication?: AuthStub;
  /** Connection context values on top of the listener's (like a Peer `Context = [...]`). */
  context?: Record<string, string>;
  /** Ids RFC 7352's duplicate list holds when the run starts; absent: none, and nothing is a duplicate. */
  duplicates?: SeenId[];
  /** Record each command and test evaluated (off: no cost). */
  trace?: boolean;
}

export interface ScriptOutcome {
  slot: ScriptSlot;
  file?: string;
  actions: Action[];
  implicitKeep: boolean;
  errors: string[];
}

export interface TraceLine {
  phase: Phase;
  slot: ScriptSlot;
  file?: string;
  event: TraceEvent;
}

export interface PhaseResult {
  phase: Phase;
  /** rcptto, each_rcpt: the recipient decided. */
  recipient?: string;
  /** Each script that ran, in order (phase 2 does not run when phase 1 decided). */
  scripts: ScriptOutcome[];
  /** Every script's actions, in order. */
  actions: Action[];
  /** True when no script cancelled the implicit keep. */
  implicitKeep: boolean;
  /** What the server answers, success included. */
  reply: Reply;
  /** The reply as the client reads it: "550 5.7.1 text", one line per line. */
  replyText: string;
  accepted: boolean;
  disconnect: boolean;
  tarpitMs: number;
  /** data: where the message would go (spool's and each_rcpt's choices included). */
  delivery?: DeliveryPlan;
  /** The contexts after the phase: vctx_conn and vctx_mess. */
  variables: { connection: Record<string, string>; message: Record<string, string> };
  cbvCalls: CbvCall[];
  dnsCalls: DnsCall[];
  /** ec_log lines. */
  log: string[];
  trace: TraceLine[];
  /** Runtime errors and calls without a stub: a case with any is in error. */
  errors: string[];
}

export interface DryRunResult {
  /** Compile errors and warnings; with an error, no phase ran. */
  diagnostics: Diagnostic[];
  phases: PhaseResult[];
  /** The compiled scripts, by phase (coverage reads them). */
  scripts: Array<{ phase: Phase; slot: ScriptSlot; script: CompiledScript }>;
}

/** Compiles once; `run` plays one session. Reuse it across cases that share a policy. */
export interface PreparedPolicy {
  parts: PolicyParts;
  scripts: DryRunResult['scripts'];
  run(options: Omit<DryRunOptions, 'config' | 'scripts' | 'cbvModule'>): Promise<DryRunResult>;
}

export async function preparePolicy(source: Pick<DryRunOptions, 'config' | 'scripts' | 'cbvModule'>): Promise<PreparedPolicy> {
  const parts = source.config ? await partsFromConfig(source.config) : await partsFromScripts(source.scripts ?? {}, source.cbvModule);
  if (source.config && source.cbvModule) parts.module = source.cbvModule;
  const scripts = Object.entries(parts.scripts).flatMap(([phase, ps]) =>
    (['phase1', 'phase2'] as const).flatMap((slot) => (ps[slot] ? [{ phase: phase as Phase, slot, script: ps[slot] }] : [])),
  );
  return { parts, scripts, run: (options) => play(parts, scripts, options) };
}

export async function dryRun(options: DryRunOptions): Promise<DryRunResult> {
  return (await preparePolicy(options)).run(options);
}

/** Stores nothing; names the copy as the server would name its transaction. */
const dryStore: MessageStore = {
  store: async ({ transaction, plan }) => (plan.stores.length || plan.redirects.length ? [transaction.id] : []),
};

async function play(parts: PolicyParts, scripts: DryRunResult['scripts'], options: Omit<DryRunOptions, 'config' | 'scripts' | 'cbvModule'>): Promise<DryRunResult> {
  const result: DryRunResult = { diagnostics: parts.diagnostics, phases: [], scripts };
  if (hasErrors(parts.diagnostics)) return result;

  const verifier = new StubVerifier(options.cbv ?? {});
  const recipientVerifier = new StubVerifier(options.recipientVerify ?? {}, RECIPIENT_STUBS);
  const dnsCalls: DnsCall[] = [];
  let current: PhaseResult | null = null;
  // spool and each_rcpt run inside the data step (session.ts, message-phases.ts): each run is a result of its own.
  let inner: { outer: PhaseResult; outerEnd?: Mark; results: PhaseResult[]; open?: { r: PhaseResult; start: Mark } } | null = null;
  const mark = (): Mark => ({ calls: verifier.calls.length, recipientCalls: recipientVerifier.calls.length, queries: dnsCalls.length });
  const observer: PolicyObserver = {
    phase: (input) => {
      if (!inner || (input.phase !== 'spool' && input.phase !== 'each_rcpt')) return;
      inner.outerEnd ??= mark();
      inner.open = { r: newPhaseResult(input.phase, input.recipient), start: mark() };
      current = inner.open.r;
    },
    trace: (phase, slot, script) => {
      verifier.by = 'function';
      if (!options.trace) return undefined;
      return (event) => current?.trace.push({ phase, slot, file: script.file, event });
    },
    script: ({ slot, script, result: r }) => {
      verifier.by = 'module'; // between scripts, only the module's probe calls the verifier
      current?.scripts.push({ slot, file: script.file, actions: r.actions, implicitKeep: r.implicitKeep, errors: r.errors.map((e) => (e.pos ? `${script.file ?? slot}:${e.pos.line}:${e.pos.column}: ${e.message}` : e.message)) });
    },
    log: (_phase, level, text) => current?.log.push(`${level}: ${text}`),
  };
  verifier.by = 'module';
  const policy = new SievePolicy({ scripts: parts.scripts, runtimeError: parts.runtimeError, observer, ...(parts.externalLists ? { externalLists: parts.externalLists } : {}), ...(parts.mailboxes ? { mailboxes: parts.mailboxes } : {}) });
  const services: SessionServices = {
    logger: silentLogger,
    counters: new Map(),
    dnsLookup: stubDnsLookup(options.dns ?? {}, dnsCalls),
    functionServices: functionServices(verifier, recipientVerifier),
    // A deadline no stub comes near.
    cbv: new SenderVerification(verifier, { ...parts.module, deadlineMs: 30_000 }, silentLogger),
    store: dryStore,
    ...(options.authentication && Object.keys(options.authentication).length ? { authentication: new StubAuthentication(options.authentication) } : {}),
    maxTarpitMs: (parts.maxTarpitSeconds ?? 60) * 1000,
    observer: {
      phase: (outcome) => {
        const open = inner?.open;
        if (!inner || !open || outcome.phase !== open.r.phase) return;
        finish(open.r, outcome, session);
        collect(open.r, open.start, mark());
        inner.results.push(open.r);
        inner.open = undefined;
        current = inner.outer;
      },
    },
    duplicates: seededDuplicates(options.duplicates ?? []),
    ...(parts.maxTarpitSeconds !== undefined ? { maxTarpitSeconds: parts.maxTarpitSeconds } : {}),
    // Per run: counters that start empty, as for one session, and ec_log_file lines in the run's log instead of the file.
    ...(parts.momentum
      ? { momentum: { ...parts.momentum, counters: new MemoryCounterStore(), appendLog: (file: string, line: string) => void current?.log.push(`ec_log_file ${file}: ${line}`) } }
      : {}),
  };

  const c = options.connection ?? {};
  const ip = c.ip ?? '192.0.2.1';
  // audit_connections_on_*: the run's one session is the one connection open, on its listener.
  const listener = '192.0.2.25:25';
  services.connections = new LocalConnections();
  services.connections.open(ip, listener);
  const session = new Session(
    { id: 'dry-run', remoteAddress: ip, remotePort: c.port ?? 49152, localAddress: '192.0.2.25', localPort: 25, listener, tls: c.tls ?? false, context: { ...parts.contextFor(ip), ...options.context }, hostname: parts.hostname, banner: parts.greeting },
    { policy: () => policy, services },
  );
  const message = options.message === undefined ? undefined : Buffer.isBuffer(options.message) ? options.message : Buffer.from(options.message.replace(/\r?\n/g, '\r\n'));
  const wanted = options.phases?.length ? new Set(options.phases) : null;
  const last = wanted ? Math.max(...[...wanted].map((p) => PHASES.indexOf(p))) : message ? PHASES.length - 1 : PHASES.indexOf('rcptto');

  /** The stub calls made between two marks, and the errors of those that had no stub. */
  const collect = (r: PhaseResult, from: Mark, to: Mark) => {
    r.cbvCalls = verifier.calls.slice(from.calls, to.calls);
    r.dnsCalls = dnsCalls.slice(from.queries, to.queries);
    for (const call of [...r.cbvCalls, ...recipientVerifier.calls.slice(from.recipientCalls, to.recipientCalls), ...r.dnsCalls]) if (call.error && !r.errors.some((e) => e.includes(call.error!))) r.errors.push(call.error);
  };
  const step = async (phase: Phase, run: () => Promise<PhaseOutcome>, recipient?: string): Promise<PhaseResult> => {
    const r: PhaseResult = newPhaseResult(phase, recipient);
    current = r;
    const start = mark();
    const nested: NonNullable<typeof inner> = (inner = { outer: r, results: [] });
    const outcome = await run();
    finish(r, outcome, session);
    collect(r, start, nested.outerEnd ?? mark());
    inner = null;
    // The data phase first (its reply is the answer to the dot), then its spool and each_rcpt runs in order.
    for (const p of [r, ...nested.results]) if (!wanted || wanted.has(p.phase)) result.phases.push(p);
    current = null;
    return r;
  };
  const reached = (phase: Phase) => PHASES.indexOf(phase) <= last;
  const stops = (r: PhaseResult) => !r.accepted || r.disconnect;

  if (reached('connect') && stops(await step('connect', () => session.connect()))) return result;
  if (!reached('ehlo')) return result;
  if (stops(await step('ehlo', () => session.hello(c.esmtp === false ? 'HELO' : 'EHLO', c.helo ?? 'client.example')))) return result;
  if (c.auth) session.authenticated(c.auth);
  if (!reached('mailfrom')) return result;
  const mail = await step('mailfrom', () => session.mailFrom(options.envelope.from));
  if (stops(mail) || !reached('rcptto')) return result;
  for (const rcpt of options.envelope.to) {
    const r = await step('rcptto', () => session.rcptTo(rcpt), rcpt);
    if (r.disconnect) return result;
  }
  // smtp-server answers DATA with 554 itself when no recipient was accepted: no data phase.
  if (!reached('data') || !session.transaction?.recipients.length || !message) return result;
  await step('data', () => session.data(message));
  return result;
}

/** How many stub calls were made so far, by kind. */
interface Mark {
  calls: number;
  recipientCalls: number;
  queries: number;
}

function newPhaseResult(phase: Phase, recipient?: string): PhaseResult {
  return {
    phase,
    ...(recipient !== undefined ? { recipient } : {}),
    scripts: [],
    actions: [],
    implicitKeep: true,
    reply: { code: 0, text: '' },
    replyText: '',
    accepted: false,
    disconnect: false,
    tarpitMs: 0,
    variables: { connection: {}, message: {} },
    cbvCalls: [],
    dnsCalls: [],
    log: [],
    trace: [],
    errors: [],
  };
}

function finish(r: PhaseResult, outcome: PhaseOutcome, session: Session): void {
  r.actions = r.scripts.flatMap((s) => s.actions);
  r.implicitKeep = r.scripts.every((s) => s.errors.length > 0 || s.implicitKeep);
  r.errors.push(...r.scripts.flatMap((s) => s.errors));
  r.accepted = outcome.accepted;
  r.reply = outcome.reply;
  r.replyText = replyText(outcome.reply);
  r.disconnect = outcome.disconnect;
  r.tarpitMs = outcome.tarpitMs;
  if (outcome.delivery) r.delivery = outcome.delivery;
  // After DATA the transaction is over: its context is the one the phase ran with.
  const tx = session.transaction ?? session.lastTransaction;
  r.variables = { connection: Object.fromEntries(session.connection.context), message: Object.fromEntries(tx?.context ?? []) };
}

/** "CODE-line" for every line but the last, "CODE line" for the last (RFC 5321 4.2.1). */
export function replyText(reply: Reply): string {
  return wireText(reply).replace(/\r\n/g, '\n');
}

/**
 * The dry run's duplicate list: the seeded ids, as if earlier messages had
 * left them a day ago. A dry run is one transaction, so what it records
 * itself could only matter to a later one: it goes nowhere.
 */
function seededDuplicates(ids: readonly SeenId[]): DuplicateStore {
  const list = new MemoryDuplicates();
  list.record(ids.map((s) => ({ id: duplicateKey(s.handle, s.id), seconds: 86_400, last: true, duplicate: false })));
  return { seen: (id) => list.seen(id), record: () => undefined };
}
