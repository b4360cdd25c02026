/**
 * The policy the server runs: at each phase, the `_phase1` script, then the
 * `_phase2` script unless phase 1 decided (sieve-dialect.md, "Phases"); the
 * actions become the reply (decide.ts). Delivery choices made before DATA
 * (fileinto at MAIL FROM, discard of one recipient at RCPT TO) are kept for
 * the transaction and applied at DATA. The smtp_cbv module starts its probe
 * when its phase accepts, and a phase whose scripts read `smtp_cbv_*` waits
 * for the verdict first.
 */
import { hostname as osHostname } from 'node:os';
import type { Logger } from 'pino';
import type { CompiledScript } from '../sieve/compile.js';
import { type ExecutionResult, execute } from '../sieve/interpreter.js';
import { parseMessage } from '../sieve/runtime/message.js';
import { policyHost } from '../policy/functions.js';
import type { RuntimeLimits, TraceHook } from '../sieve/runtime/runtime.js';
import type { MomentumContext, MomentumHost } from '../sievepp/host.js';
import type { CbvModule } from './cbv-module.js';
import { type Decision, decide, emptyDecision, outcomeOf } from './decide.js';
import { applyHeaderEdits, type HeaderEdit } from './header-edits.js';
import type { Phase, PhaseInput, PhaseOutcome, Policy, SessionState } from './types.js';

export interface PhaseScripts {
  phase1?: CompiledScript;
  phase2?: CompiledScript;
  /** The scripts mention smtp_cbv: wait for the verdict before running them. */
  readsCbv: boolean;
}

export type ScriptSlot = 'phase1' | 'phase2';

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
  /** Before a script runs: a hook returned here traces that run. */
  trace?(phase: Phase, slot: ScriptSlot, script: CompiledScript): TraceHook | undefined;
  /** After a script ran, failed or not. */
  script?(run: ScriptRun): void;
  /** An ec_log line, besides the logger. */
  log?(phase: Phase, level: string, text: string): void;
}

export interface SievePolicyOptions {
  scripts: Partial<Record<Phase, PhaseScripts>>;
  /** Momentum's `runtime_error`: "fail" answers 451 4.3.0; "continue" ignores the failed script. */
  runtimeError: 'fail' | 'continue';
  cbv?: CbvModule;
  logger: Logger;
  hostname?: string;
  limits?: Partial<RuntimeLimits>;
  /** Sieve++ ec_dns_lookup; without it the function fails at run time. */
  dnsLookup?: MomentumHost['dnsLookup'];
  /** Longest ec_tarpit a script may ask for, in seconds. */
  maxTarpitSeconds?: number;
  observer?: PolicyObserver;
  /** Sieve++ datasources, CIDR tables, counters, ec_include and ec_log_file (src/policy/momentum-services.ts). */
  momentum?: Partial<MomentumHost>;
}

/** Delivery choices made before DATA, kept until DATA. */
interface Pending {
  discard: boolean;
  folders: string[];
  redirects: string[];
  discardedRecipients: Set<string>;
  headerEdits: HeaderEdit[];
}

/** The pending choices kept under `key`, created on first use. */
function pendingIn<K extends object>(map: WeakMap<K, Pending>, key: K): Pending {
  let p = map.get(key);
  if (!p) map.set(key, (p = { discard: false, folders: [], redirects: [], discardedRecipients: new Set(), headerEdits: [] }));
  return p;
}

export class SievePolicy implements Policy {
  /** Per transaction: keyed by the message context, which the server renews at each MAIL FROM. */
  private transactions = new WeakMap<Map<string, string>, Pending>();
  /** Choices made at connect/EHLO hold for every transaction of the connection. */
  private connections = new WeakMap<SessionState, Pending>();
  /** ec_inc_counter's named counters, for the life of this policy. */
  readonly counters = new Map<string, number>();

  constructor(readonly options: SievePolicyOptions) {}

  async run(input: PhaseInput): Promise<PhaseOutcome> {
    const { phase, session } = input;
    const scripts = this.options.scripts[phase];
    const cbv = this.options.cbv;
    if (cbv && scripts?.readsCbv && cbv.comesAfterStart(phase)) await cbv.wait(session);

    const total: Decision = emptyDecision();
    // editheader (RFC 5293) gives the script a new message; the last edited one is what gets spooled.
    let edited: string | undefined;
    for (const slot of ['phase1', 'phase2'] as const) {
      const script = scripts?.[slot];
      if (!script) continue;
      const observer = this.options.observer;
      const trace = observer?.trace?.(phase, slot, script);
      const result = await execute(script, this.context(input), this.host(input), { limits: this.options.limits, ...(trace ? { trace } : {}) });
      observer?.script?.({ phase, slot, script, result });
      if (result.errors.length) {
        const err = result.errors[0]!;
        this.options.logger.warn(
          { event: 'sieve.runtime-error', session: session.id, phase, script: script.file ?? slot, line: err.pos?.line, column: err.pos?.column, error: err.message, mode: this.options.runtimeError },
          `sieve runtime error: ${err.message}`,
        );
        if (this.options.runtimeError === 'fail') {
          return { reply: { code: 451, enhanced: '4.3.0', text: 'Temporary policy error, please try again later' } };
        }
        continue; // RFC 5228 2.10.6: a failed run's actions are not executed
      }
      const rt = result.runtime;
      if (rt.message && rt.message !== rt.initialMessage) edited = rt.message.raw;
      const d = decide(phase, result.actions, result.implicitKeep);
      this.options.logger.info(
        { event: 'sieve', session: session.id, phase, script: script.file ?? slot, actions: result.actions.map((a) => a.type), implicitKeep: result.implicitKeep, code: d.reply?.code ?? null },
        `${phase} ${slot}: ${result.actions.map((a) => a.type).join(', ') || 'implicit keep'}`,
      );
      merge(total, d);
      if (d.final) break;
    }

    const refused = total.reply !== undefined && total.reply.code >= 400;
    if (phase !== 'data') {
      if (!refused) {
        this.remember(phase, input, total);
        cbv?.accepted(phase, session);
      }
      return outcomeOf(total);
    }
    if (refused) return outcomeOf(total);
    return { ...outcomeOf(total), delivery: this.plan(session, total, input.message, edited) };
  }

  private context(input: PhaseInput): MomentumContext {
    const s = input.session;
    return {
      phase: input.phase,
      // Momentum's vctx_conn / vctx_mess are the session's own maps: what a script sets persists.
      connectionContext: s.connection,
      messageContext: s.message,
      message: input.phase === 'data' && input.message ? parseMessage(input.message.toString('utf8')) : null,
      envelope: {
        from: s.mailFrom ?? '',
        to: input.phase === 'rcptto' && input.recipient ? [input.recipient] : [...s.recipients],
        ...(s.user ? { auth: s.user } : {}),
      },
    };
  }

  /**
   * RFC 5183 environment items as an MTA sees them while a message arrives,
   * plus `vnd.smtp-cbv.phase` and `vnd.smtp-cbv.<key>` for every message
   * and connection context variable (message first), so that a standard
   * script can read `smtp_cbv_result` without Sieve++.
   */
  private host(input: PhaseInput) {
    const host = this.options.hostname ?? osHostname();
    const env: Record<string, string> = { domain: host, host, location: 'MTA', phase: 'during', name: 'smtp-cbv', version: '0.1.0', 'vnd.smtp-cbv.phase': input.phase };
    const { message, connection } = input.session;
    const environment = (name: string): string | undefined => {
      const key = name.toLowerCase();
      if (key in env) return env[key];
      if (!key.startsWith('vnd.smtp-cbv.')) return undefined;
      const variable = name.slice('vnd.smtp-cbv.'.length);
      return message.get(variable) ?? connection.get(variable);
    };
    const logger = this.options.logger;
    const base: MomentumHost = {
      environment,
      mailboxExists: () => true,
      log: (level, text) => {
        logger[level === 'warning' ? 'warn' : level]({ event: 'ec_log', session: input.session.id, phase: input.phase }, text);
        this.options.observer?.log?.(input.phase, level, text);
      },
      incrementCounter: (name, by) => this.counters.set(name, (this.counters.get(name) ?? 0) + by),
      ...(this.options.dnsLookup ? { dnsLookup: this.options.dnsLookup } : {}),
      ...(this.options.maxTarpitSeconds !== undefined ? { maxTarpitSeconds: this.options.maxTarpitSeconds } : {}),
      ...this.options.momentum,
    };
    // smtp_callback_verify finds the engine here (src/cbv/sieve-function.ts).
    return policyHost({ cbv: this.options.cbv?.engine }, base);
  }

  private remember(phase: Phase, input: PhaseInput, d: Decision): void {
    if (!d.discard && !d.folders.length && !d.redirects.length && !d.headerEdits.length) return;
    const p = phase === 'connect' || phase === 'ehlo' ? pendingIn(this.connections, input.session) : pendingIn(this.transactions, input.session.message);
    if (d.discard) {
      if (phase === 'rcptto' && input.recipient) p.discardedRecipients.add(input.recipient);
      else p.discard = true;
    }
    p.folders.push(...d.folders);
    p.redirects.push(...d.redirects);
    p.headerEdits.push(...d.headerEdits);
  }

  private plan(session: SessionState, d: Decision, received: Buffer | undefined, edited: string | undefined) {
    const parts = [this.connections.get(session), this.transactions.get(session.message)].filter((p): p is Pending => !!p);
    const discarded = new Set(parts.flatMap((p) => [...p.discardedRecipients]));
    const recipients = session.recipients.filter((r) => !discarded.has(r));
    const discard = d.discard || parts.some((p) => p.discard) || recipients.length === 0;
    const folders = [...parts.flatMap((p) => p.folders), ...d.folders];
    const redirects = [...parts.flatMap((p) => p.redirects), ...d.redirects];
    // The implicit keep applies only when no phase chose where the message goes.
    if (!folders.length && !redirects.length && d.implicitKeep) folders.push('INBOX');
    // Header edits from every phase, earliest first, on the (possibly editheader-edited) message.
    const edits = [...parts.flatMap((p) => p.headerEdits), ...d.headerEdits];
    if (edited === undefined && !edits.length) return { discard, folders, redirects, recipients };
    const text = applyHeaderEdits(edited ?? received?.toString('utf8') ?? '', edits);
    return { discard, folders, redirects, recipients, message: Buffer.from(text, 'utf8') };
  }
}

function merge(total: Decision, d: Decision): void {
  total.reply ??= d.reply;
  total.disconnect ||= d.disconnect;
  total.tarpitMs += d.tarpitMs;
  total.discard ||= d.discard;
  total.folders.push(...d.folders);
  total.redirects.push(...d.redirects);
  total.implicitKeep &&= d.implicitKeep;
  total.final ||= d.final;
  total.headerEdits.push(...d.headerEdits);
}
