/**
 * The policy: the compiled phase scripts and how to run them. It holds no
 * session state, so a reload replaces it between two phases of a session
 * without losing anything the session decided (state.ts owns that).
 *
 * At each phase the `_phase1` script runs, then the `_phase2` script unless
 * phase 1 decided (docs/server.md, "Phases"); the actions become a
 * Decision (decide.ts). Whether a phase waits for the CBV verdict comes
 * from what its scripts (and the scripts they include) read, learnt at
 * compile time (verdict-readers.ts), never from the script text.
 */
import type { Logger } from 'pino';
import { DEFAULT_SLICE_MS, type DuplicateRecord, duplicateRecords, execute, type CompiledScript, type ExecuteOptions, type ExecutionResult, type ExternalList, type RuntimeLimits, type TraceHook } from '../sieve/index.js';
import type { ConnectionCounter } from '../store/connections.js';
import type { DuplicateStore } from '../store/duplicates.js';
import { type FolderExists, type MailboxDirectory, mailboxDirectory } from '../policy/mailboxes.js';
import type { MomentumContext, MomentumHost } from '../sievepp/host.js';
import { isReservedContextKey, RECIPIENT_VERIFY_PREFIX } from './context-keys.js';
import { type MessageSource, sieveView } from './message-source.js';
import { type Decision, decide, emptyDecision, mergeDecision, NOTHING_DECIDED } from './decide.js';
import { hasMessage, type Phase } from './phases.js';
import type { ConnectionState, Transaction } from './state.js';
import { readsVerdict } from './verdict-readers.js';

export interface PhaseScripts {
  phase1?: CompiledScript;
  phase2?: CompiledScript;
}

export type ScriptSlot = 'phase1' | 'phase2';
/** In the order they run; one list, not one per run. */
const SLOTS: readonly ScriptSlot[] = ['phase1', 'phase2'];

/** One script's run, as an observer sees it. */
export interface ScriptRun {
  phase: Phase;
  slot: ScriptSlot;
  script: CompiledScript;
  result: ExecutionResult;
}

/**
 * Watches the policy run (the dry-run runner: per-script actions, traces,
 * ec_log lines). The server passes none; each hook costs a property read.
 */
export interface PolicyObserver {
  /** A phase's scripts are about to run (spool and each_rcpt run inside DATA's answer: the dry run tells their runs apart by this). */
  phase?(input: PhaseInput): void;
  /** Before a script runs: a hook returned here traces that run. */
  trace?(phase: Phase, slot: ScriptSlot, script: CompiledScript): TraceHook | undefined;
  /** After a script ran, failed or not. */
  script?(run: ScriptRun): void;
  /** An ec_log line, besides the logger. */
  log?(phase: Phase, level: string, text: string): void;
}

/** What a phase's scripts may reach: the long-lived services, handed in by the session. */
export interface PolicyServices {
  logger: Logger;
  /** Sieve++ ec_dns_lookup; without it the function fails at run time. */
  dnsLookup?: MomentumHost['dnsLookup'];
  /** ec_inc_counter's named counters: they outlive reloads. */
  counters: Map<string, number>;
  /** Longest ec_tarpit a script may ask for, in seconds. */
  maxTarpitSeconds?: number;
  /** SieveHost.services: what registered functions find by name (smtp_callback_verify's "cbv"). */
  functionServices: Readonly<Record<string, unknown>>;
  /** Sieve++ datasources, CIDR tables, per-IP counters, ec_include and ec_log_file (src/policy/momentum-services.ts). */
  momentum?: Partial<MomentumHost>;
  /** Is this folder already in the store (the local spool's, src/policy/mailboxes.ts)? Absent: the store files elsewhere. */
  folderExists?: FolderExists;
  /** RFC 7352's tracking list, which `duplicate` asks (src/store/duplicates.ts). Absent: nothing is a duplicate. */
  duplicates?: DuplicateStore;
  /** Connections open per client address and listener (src/store/connections.ts), which audit_connections_on_* read. Absent: they fail. */
  connections?: ConnectionCounter;
}

/** One phase to decide. */
export interface PhaseInput {
  phase: Phase;
  connection: ConnectionState;
  transaction: Transaction | null;
  /** rcptto: the recipient being decided; each_rcpt: the recipient the run is for (the envelope's only `to`). */
  recipient?: string;
  /** data, spool, each_rcpt: the message as received, or as an earlier phase's editheader left it (in memory or spooled: read on demand). */
  message?: MessageSource;
}

export interface PhaseVerdict {
  decision: Decision;
  /** A script failed and `runtime_error` is "fail": the session answers 451. */
  failed: boolean;
  /** editheader (RFC 5293) changed the message: the text to store. */
  edited?: string;
  /** What the phase's finished runs tested with `duplicate`: the session records it once the result is carried out. */
  duplicates?: DuplicateRecord[];
}

export interface SievePolicyOptions {
  scripts: Partial<Record<Phase, PhaseScripts>>;
  /** Momentum's `runtime_error`: "fail" answers 451 4.3.0; "continue" ignores the failed script. */
  runtimeError: 'fail' | 'continue';
  limits?: Partial<RuntimeLimits>;
  observer?: PolicyObserver;
  /** RFC 6134 lists by normalised name (src/policy/external-lists.ts): reloaded with the policy. */
  externalLists?: ReadonlyMap<string, ExternalList>;
  /** RFC 5490 / RFC 8579 answers (src/policy/mailboxes.ts): reloaded with the policy. Absent: only INBOX exists, no flags, no annotations. */
  mailboxes?: MailboxDirectory;
}

/** RFC 5183 items as an MTA sees them while a message arrives. */
const ENVIRONMENT_BASE = { location: 'MTA', phase: 'during', name: 'smtp-cbv', version: '0.1.0' };
const ENV_PREFIX = 'vnd.smtp-cbv.';
const PHASE_ITEM = `${ENV_PREFIX}phase`;
/** A policy built without a configuration knows no mailbox but INBOX. */
const INBOX_ONLY = mailboxDirectory(undefined);

/** What the session asks of a policy; SievePolicy is the one the product runs. */
export interface Policy {
  /** True when this phase's scripts read the CBV verdict: the session waits for it first. */
  waitsForVerdict(phase: Phase): boolean;
  /** True when this phase's scripts read the recipient call-ahead's verdict: it is asked before they run. Absent: false. */
  readsRecipientVerdict?(phase: Phase): boolean;
  /** The phase's verdict; at once when the phase had nothing to wait for. */
  run(input: PhaseInput, services: PolicyServices): PhaseVerdict | Promise<PhaseVerdict>;
  /**
   * False when no script runs at this phase: the session then decides without a run. Absent: always run,
   * except spool and each_rcpt, which run (once per message, once per recipient) only where this says so.
   */
  runsAt?(phase: Phase): boolean;
}

export class SievePolicy implements Policy {
  private readonly waits = new Set<Phase>();
  private readonly readsRecipient = new Set<Phase>();
  /** How every untraced run is made, built once: time-sliced (docs/sieve-interpreter.md), under the policy's limits. */
  private readonly runOptions: ExecuteOptions;

  constructor(readonly options: SievePolicyOptions) {
    this.runOptions = { timeSliceMs: DEFAULT_SLICE_MS, ...(options.limits ? { limits: options.limits } : {}) };
    for (const [phase, ps] of Object.entries(options.scripts) as Array<[Phase, PhaseScripts]>) {
      if ([ps.phase1, ps.phase2].some((s) => s && readsVerdict(s.facts))) this.waits.add(phase);
      if ([ps.phase1, ps.phase2].some((s) => s && readsVerdict(s.facts, RECIPIENT_VERIFY_PREFIX))) this.readsRecipient.add(phase);
    }
  }

  runsAt(phase: Phase): boolean {
    const ps = this.options.scripts[phase];
    return ps !== undefined && (ps.phase1 !== undefined || ps.phase2 !== undefined);
  }

  readsRecipientVerdict(phase: Phase): boolean {
    return this.readsRecipient.has(phase);
  }

  /** True when a script of this phase reads the CBV verdict: the session waits for it first. */
  waitsForVerdict(phase: Phase): boolean {
    return this.waits.has(phase);
  }

  /** Every compiled script, by phase and slot. */
  *scripts(): Generator<{ phase: Phase; slot: ScriptSlot; script: CompiledScript }> {
    for (const [phase, ps] of Object.entries(this.options.scripts) as Array<[Phase, PhaseScripts]>) {
      for (const slot of ['phase1', 'phase2'] as const) {
        const script = ps[slot];
        if (script) yield { phase, slot, script };
      }
    }
  }

  /**
   * Runs the phase's scripts. A phase whose scripts all finish at once
   * (most) is answered at once, without a promise; the run goes on
   * asynchronously only from a script that did.
   */
  run(input: PhaseInput, services: PolicyServices): PhaseVerdict | Promise<PhaseVerdict> {
    const scripts = this.options.scripts[input.phase];
    if (!scripts) return { decision: NOTHING_DECIDED, failed: false };
    // A header section too long to be kept apart (HEAD_LIMIT) leaves the header fields in the whole message, and
    // header tests are synchronous: it is loaded on the thread pool first, not read on the event loop by the first test.
    const message = input.message;
    const loading = message && !message.head ? message.load?.() : undefined;
    this.options.observer?.phase?.(input);
    const run: PhaseRun = { input, services, scripts, ctx: context(input), host: this.host(input, services) };
    return loading ? loading.then(() => this.runFrom(run, 0)) : this.runFrom(run, 0);
  }

  /** The phase's scripts from SLOTS[i] on. */
  private runFrom(run: PhaseRun, i: number): PhaseVerdict | Promise<PhaseVerdict> {
    const { input, scripts } = run;
    for (; i < SLOTS.length; i++) {
      const slot = SLOTS[i]!;
      const script = scripts[slot];
      if (!script) continue;
      const trace = this.options.observer?.trace?.(input.phase, slot, script);
      // Time-sliced (docs/sieve-interpreter.md): a long script yields to the event loop, so other sessions go on.
      const result = execute(script, run.ctx(), run.host, trace ? { ...this.runOptions, trace } : this.runOptions);
      if (result instanceof Promise) {
        const next = i + 1;
        return result.then((r) => this.ran(run, slot, script, r) ?? this.runFrom(run, next));
      }
      const ended = this.ran(run, slot, script, result);
      if (ended) return ended;
    }
    return verdictOf(run);
  }

  /** Takes one script's result into the phase: the phase's verdict when the phase ends with it, else undefined. */
  private ran(run: PhaseRun, slot: ScriptSlot, script: CompiledScript, result: ExecutionResult): PhaseVerdict | undefined {
    const { input, services } = run;
    const { phase } = input;
    this.options.observer?.script?.({ phase, slot, script, result });
    if (result.errors.length) {
      const err = result.errors[0]!;
      services.logger.warn(
        { event: 'sieve.runtime-error', session: input.connection.id, phase, script: script.file ?? slot, line: err.pos?.line, column: err.pos?.column, error: err.message, mode: this.options.runtimeError },
        `sieve runtime error: ${err.message}`,
      );
      if (this.options.runtimeError === 'fail') return { decision: run.total ?? NOTHING_DECIDED, failed: true };
      return undefined; // RFC 5228 2.10.6: a failed run's actions are not executed
    }
    const rt = result.runtime;
    // editheader (RFC 5293) gives the script a new message; the last edited one is what gets stored.
    if (rt.message && rt.message !== rt.initialMessage) run.edited = rt.message.raw;
    const tested = duplicateRecords(rt);
    if (tested.length) run.duplicates = run.duplicates ? [...run.duplicates, ...tested] : [...tested];
    const d = decide(phase, result.actions, result.implicitKeep);
    // Built only when debug is on: this runs for every script of every phase of every message.
    if (services.logger.isLevelEnabled('debug')) {
      const actions = result.actions.map((a) => a.type);
      services.logger.debug(
        { event: 'sieve', session: input.connection.id, phase, script: script.file ?? slot, actions, implicitKeep: result.implicitKeep, code: d.reply?.code ?? null },
        `${phase} ${slot}: ${actions.join(', ') || 'implicit keep'}`,
      );
    }
    // Made only once a script decides something: a phase whose runs take no action shares NOTHING_DECIDED.
    if (d !== NOTHING_DECIDED) mergeDecision((run.total ??= emptyDecision()), d);
    return d.final ? verdictOf(run) : undefined;
  }

  /**
   * The host a phase's scripts see: RFC 5183 environment items, plus
   * `vnd.smtp-cbv.phase` and `vnd.smtp-cbv.<key>` for every message and
   * connection context variable (message first), so that a standard script
   * can read `smtp_cbv_result` without Sieve++.
   */
  private host(input: PhaseInput, services: PolicyServices): MomentumHost {
    // What does not depend on the run is built once per services (a reload of the services builds it again),
    // its environment and log included: a run adds only what they read, not a dozen closures and a copy.
    const host = Object.create(this.baseHost(services)) as RunHost;
    host.run = input;
    host.logger = services.logger;
    return host;
  }

  private base: { host: MomentumHost; from: PolicyServices } | undefined;

  /** The part of the host every run shares, rebuilt when a service it holds was replaced. */
  private baseHost(services: PolicyServices): MomentumHost {
    const b = this.base;
    if (b && sameServices(b.from, services)) return b.host;
    const { counters } = services;
    const mailboxes = this.options.mailboxes ?? INBOX_ONLY;
    const observer = this.options.observer;
    const host: MomentumHost & ThisType<RunHost> = {
      mailboxExists: (name) => mailboxes.exists(name, services.folderExists),
      specialUseMailboxes: (flag) => mailboxes.specialUse(flag),
      metadata: (mailbox, name) => mailboxes.metadata(mailbox, name),
      externalList: (name) => this.options.externalLists?.get(name),
      incrementCounter: (name, by) => counters.set(name, (counters.get(name) ?? 0) + by),
      ...(services.dnsLookup ? { dnsLookup: services.dnsLookup } : {}),
      ...(services.maxTarpitSeconds !== undefined ? { maxTarpitSeconds: services.maxTarpitSeconds } : {}),
      ...(services.duplicates ? { duplicate: (id: string) => services.duplicates!.seen(id) } : {}),
      ...(services.connections ? { liveConnections: liveConnections(services.connections) } : {}),
      services: services.functionServices,
      ...services.momentum,
      // A run's own host (host() above) has the run's connection, transaction and phase, and its logger.
      environment(name) {
        const { connection, transaction, phase } = this.run;
        const key = name.toLowerCase();
        const known = environmentItem(key, connection.hostname, phase);
        if (known !== undefined) return known;
        if (!key.startsWith(ENV_PREFIX)) return undefined;
        const variable = name.slice(ENV_PREFIX.length);
        return transaction?.context.get(variable) ?? connection.context.get(variable);
      },
      log(level, text) {
        const { connection, phase } = this.run;
        this.logger[level === 'warning' ? 'warn' : level]({ event: 'ec_log', session: connection.id, phase }, text);
        observer?.log?.(phase, level, text);
      },
    };
    this.base = { host, from: { ...services } };
    return host;
  }
}

/** One phase's run of its scripts, and what they decided so far. */
interface PhaseRun {
  input: PhaseInput;
  services: PolicyServices;
  scripts: PhaseScripts;
  ctx: () => MomentumContext;
  host: MomentumHost;
  total?: Decision;
  edited?: string;
  duplicates?: DuplicateRecord[];
}

/** The phase's verdict from what its scripts decided. */
function verdictOf(run: PhaseRun): PhaseVerdict {
  const verdict: PhaseVerdict = { decision: run.total ?? NOTHING_DECIDED, failed: false };
  if (run.edited !== undefined) verdict.edited = run.edited;
  if (run.duplicates) verdict.duplicates = run.duplicates;
  return verdict;
}

/** The counts audit_connections_on_* read, for the run's session's listener or the whole server. */
function liveConnections(counter: ConnectionCounter): NonNullable<MomentumHost['liveConnections']> {
  return function (this: RunHost, ip, mask, on) {
    if (on === 'service') return counter.inBlock(ip, mask);
    const listener = this.run.connection.listener;
    return listener === undefined ? undefined : counter.inBlock(ip, mask, listener);
  };
}

/** The host one run sees: the shared one (SievePolicy.baseHost) under the run's own fields. */
interface RunHost extends MomentumHost {
  run: PhaseInput;
  logger: Logger;
}

/** True when the base host built from `a` serves `b` too: the same object, none of its services since replaced. */
function sameServices(a: PolicyServices, b: PolicyServices): boolean {
  return a.counters === b.counters && a.dnsLookup === b.dnsLookup && a.maxTarpitSeconds === b.maxTarpitSeconds && a.functionServices === b.functionServices && a.momentum === b.momentum && a.folderExists === b.folderExists && a.duplicates === b.duplicates && a.connections === b.connections;
}

/** An RFC 5183 item (or `vnd.smtp-cbv.phase`) by lower-case name; undefined for any other. */
function environmentItem(key: string, hostname: string, phase: Phase): string | undefined {
  if (key === 'domain' || key === 'host') return hostname;
  if (key === PHASE_ITEM) return phase;
  return Object.hasOwn(ENVIRONMENT_BASE, key) ? ENVIRONMENT_BASE[key as keyof typeof ENVIRONMENT_BASE] : undefined;
}

/**
 * The execution context of a phase; one per script run, the header fields
 * parsed once and the rest of the message read only if a test needs it.
 */
function context(input: PhaseInput): () => MomentumContext {
  const { connection, transaction, phase } = input;
  const source = input.message;
  const message = hasMessage(phase) && source ? sieveView(source) : null;
  return () => ({
    phase,
    // Momentum's vctx_conn / vctx_mess are the session's own Maps: what a script sets persists.
    connectionContext: connection.context,
    messageContext: transaction?.context ?? new Map(),
    readOnlyContextKey: isReservedContextKey,
    ...(transaction ? { messageCreatedAt: transaction.createdAt, messageId: transaction.id } : {}),
    message,
    envelope: {
      from: transaction?.mailFrom ?? '',
      // rcptto and each_rcpt see the one recipient decided; spool and data every accepted one (docs/server.md, "Phases").
      to: (phase === 'rcptto' || phase === 'each_rcpt') && input.recipient !== undefined ? [input.recipient] : (transaction?.recipientAddresses ?? []),
      ...(connection.user ? { auth: connection.user } : {}),
      ...(transaction?.deliverBy ? { deliverBy: transaction.deliverBy } : {}),
    },
  });
}
