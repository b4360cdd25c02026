/**
 * dryRun: one SMTP session played against a policy without sockets or
 * network. The session passes through the phases in order (connect, ehlo,
 * mailfrom, rcptto once per recipient, data), filling the context
 * variables as the server does (src/server/session-vars.ts), and each phase
 * is decided by the server's own SievePolicy, so the replies are the ones
 * the server would send. CBV and DNS answer from stubs; a call without one
 * is an error that names it.
 *
 * The session stops where the server's would: a refused connect, EHLO or
 * MAIL FROM, a disconnect, or no accepted recipient before DATA.
 */
import type { Config } from '../config/index.js';
import { type Diagnostic, hasErrors } from '../diagnostics.js';
import { formatReply } from '../server/smtp.js';
import { type PolicyObserver, SievePolicy, type ScriptSlot } from '../server/sieve-policy.js';
import { acceptRecipient, authenticated, beginTransaction, greeted, messageAccepted, offerRecipient, openSession, refuseTransaction } from '../server/session-vars.js';
import { PHASES, type DeliveryPlan, type Phase, type PhaseOutcome, type Reply, type SessionState } from '../server/types.js';
import type { CompiledScript } from '../sieve/compile.js';
import type { Action } from '../sieve/runtime/result.js';
import type { TraceEvent } from '../sieve/runtime/runtime.js';
import { type DryRunConnection, type ModuleSettings, type PhaseSource, type PolicyParts, partsFromConfig, partsFromScripts, silentLogger, stubModule } from './session.js';
import { type CbvCall, type CbvStubs, type DnsCall, type DnsStubs, StubVerifier, stubDnsLookup } from './stubs.js';

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
   * start the CBV probe. Default: all, up to data when there is a message.
   */
  phases?: Phase[];
  connection?: DryRunConnection;
  envelope: { from: string; to: string[] };
  /** The message at DATA (RFC 5322 text, LF or CRLF). */
  message?: string | Buffer;
  cbv?: CbvStubs;
  dns?: DnsStubs;
  /** Connection context values on top of the listener's (like a Peer `Context = [...]`). */
  context?: Record<string, string>;
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
  /** rcptto: the recipient decided. */
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
  /** data: where the message would go. */
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

async function play(parts: PolicyParts, scripts: DryRunResult['scripts'], options: Omit<DryRunOptions, 'config' | 'scripts' | 'cbvModule'>): Promise<DryRunResult> {
  const result: DryRunResult = { diagnostics: parts.diagnostics, phases: [], scripts };
  if (hasErrors(parts.diagnostics)) return result;

  const verifier = new StubVerifier(options.cbv ?? {});
  const dnsCalls: DnsCall[] = [];
  let current: PhaseResult | null = null;
  const observer: PolicyObserver = {
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
  const policy = new SievePolicy({
    scripts: parts.scripts,
    runtimeError: parts.runtimeError,
    cbv: stubModule(parts.module, verifier),
    logger: silentLogger,
    hostname: parts.hostname,
    dnsLookup: stubDnsLookup(options.dns ?? {}, dnsCalls),
    ...(parts.maxTarpitSeconds !== undefined ? { maxTarpitSeconds: parts.maxTarpitSeconds } : {}),
    observer,
  });

  const c = options.connection ?? {};
  const ip = c.ip ?? '192.0.2.1';
  const state = openSession({ id: 'dry-run', remoteAddress: ip, remotePort: c.port ?? 49152, localAddress: '192.0.2.25', localPort: 25, tls: c.tls ?? false, context: { ...parts.contextFor(ip), ...options.context } });
  const message = options.message === undefined ? undefined : Buffer.isBuffer(options.message) ? options.message : Buffer.from(options.message.replace(/\r?\n/g, '\r\n'));
  const wanted = options.phases?.length ? new Set(options.phases) : null;
  const last = wanted ? Math.max(...[...wanted].map((p) => PHASES.indexOf(p))) : PHASES.indexOf(message ? 'data' : 'rcptto');

  const step = async (phase: Phase, extra: { recipient?: string; message?: Buffer } = {}): Promise<PhaseResult> => {
    const r: PhaseResult = newPhaseResult(phase, extra.recipient);
    current = r;
    const calls = verifier.calls.length;
    const queries = dnsCalls.length;
    const outcome = await policy.run({ phase, session: state, ...extra });
    finish(r, outcome, phase, parts, state);
    // The module's probe runs after the scripts (once the phase accepts): its calls belong to this phase too.
    await Promise.resolve();
    r.cbvCalls = verifier.calls.slice(calls);
    r.dnsCalls = dnsCalls.slice(queries);
    for (const call of [...r.cbvCalls, ...r.dnsCalls]) if (call.error && !r.errors.some((e) => e.includes(call.error!))) r.errors.push(call.error);
    if (!wanted || wanted.has(phase)) result.phases.push(r);
    current = null;
    return r;
  };
  const reached = (phase: Phase) => PHASES.indexOf(phase) <= last;
  const stops = (r: PhaseResult) => !r.accepted || r.disconnect;

  if (reached('connect') && stops(await step('connect'))) return result;
  if (!reached('ehlo')) return result;
  greeted(state, c.esmtp === false ? 'HELO' : 'EHLO', c.helo ?? 'client.example');
  if (stops(await step('ehlo'))) return result;
  if (c.auth) authenticated(state, c.auth);
  if (!reached('mailfrom')) return result;
  beginTransaction(state, options.envelope.from);
  const mail = await step('mailfrom');
  if (!mail.accepted) refuseTransaction(state);
  if (stops(mail) || !reached('rcptto')) return result;
  for (const rcpt of options.envelope.to) {
    offerRecipient(state, rcpt);
    const r = await step('rcptto', { recipient: rcpt });
    if (r.accepted) acceptRecipient(state, rcpt);
    if (r.disconnect) return result;
  }
  // smtp-server answers DATA with 554 itself when no recipient was accepted: no data phase.
  if (!reached('data') || !state.recipients.length || !message) return result;
  const data = await step('data', { message });
  if (data.accepted) messageAccepted(state);
  return result;
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

function finish(r: PhaseResult, outcome: PhaseOutcome, phase: Phase, parts: PolicyParts, state: SessionState): void {
  r.actions = r.scripts.flatMap((s) => s.actions);
  r.implicitKeep = r.scripts.every((s) => s.errors.length > 0 || s.implicitKeep);
  r.errors.push(...r.scripts.flatMap((s) => s.errors));
  const refused = outcome.reply !== undefined && outcome.reply.code >= 400;
  r.accepted = !refused;
  r.reply = refused ? outcome.reply! : successReply(phase, parts, state, outcome);
  r.replyText = replyText(r.reply);
  r.disconnect = outcome.disconnect ?? false;
  r.tarpitMs = outcome.tarpitMs ?? 0;
  if (outcome.delivery) r.delivery = outcome.delivery;
  r.variables = { connection: Object.fromEntries(state.connection), message: Object.fromEntries(state.message) };
}

/**
 * smtp-server's own success replies (its defaults, without enhanced codes
 * as the server sends them), and ours at DATA (smtp.ts onData).
 * test/runner/parity.test.ts holds them to the server's.
 */
function successReply(phase: Phase, parts: PolicyParts, state: SessionState, outcome: PhaseOutcome): Reply {
  switch (phase) {
    case 'connect':
      return { code: 220, text: `${parts.hostname} ESMTP ${parts.greeting}` };
    case 'ehlo':
      return { code: 250, text: `${parts.hostname} Nice to meet you, [${state.remoteAddress}]` };
    case 'mailfrom':
      return { code: 250, text: 'Accepted' };
    case 'rcptto':
      return { code: 250, text: 'Accepted' };
    case 'data': {
      const d = outcome.delivery;
      const stored = !d || (!d.discard && (d.folders.length > 0 || d.redirects.length > 0));
      return { code: 250, text: stored ? `Ok: queued as ${state.id}.${state.messageCount + 1}` : 'Ok: accepted' };
    }
  }
}

/** "CODE-line" for every line but the last, "CODE line" for the last (RFC 5321 4.2.1). */
export function replyText(reply: Reply): string {
  const lines = formatReply(reply).split('\n');
  return lines.map((l, i) => `${reply.code}${i < lines.length - 1 ? '-' : ' '}${l}`).join('\n');
}
