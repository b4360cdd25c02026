/**
 * The smtp_cbv module at SMTP time (cbv.md, "The Momentum surface"): once
 * the configured phase accepts (MAIL FROM, or the first RCPT TO), it starts
 * a callback verification of the envelope sender without holding up the
 * reply. A later phase that reads the verdict waits for it, never past the
 * probe's deadline; the verdict lands in the message context as the
 * `smtp_cbv_*` variables.
 *
 * Skipped, with `smtp_cbv_reason` saying why and `smtp_cbv_result` unset:
 * the null sender (`null-sender`), a connection whose context sets
 * `__bypass_smtp_cbv = "true"` (`bypass`), and `Enabled = false` (passive:
 * nothing starts by itself; the Sieve function still works).
 */
import type { Logger } from 'pino';
import { contextVariables } from '../cbv/context.js';
import type { CbvVerifier } from '../cbv/sieve-function.js';
import { PHASES, type Phase, type SessionState } from './types.js';

export interface CbvModuleOptions {
  enabled: boolean;
  phase: 'mailfrom' | 'rcptto';
  /** The overall deadline: no client waits longer than this for a verdict. */
  deadlineMs: number;
}

interface Pending {
  done: Promise<void>;
  startedAt: number;
}

export class CbvModule {
  /** Keyed by the message context, which is new for every transaction. */
  private pending = new WeakMap<Map<string, string>, Pending>();

  constructor(
    /** The engine, or for a dry run any verifier (canned verdicts, no network). */
    readonly engine: CbvVerifier,
    readonly options: CbvModuleOptions,
    private readonly logger: Logger,
  ) {}

  /** True for phases after the one that starts the probe: the ones that may wait for it. */
  comesAfterStart(phase: Phase): boolean {
    return PHASES.indexOf(phase) > PHASES.indexOf(this.options.phase);
  }

  /** Called when the server has accepted `phase`: starts the probe if this is its phase. */
  accepted(phase: Phase, state: SessionState): void {
    if (!this.options.enabled || phase !== this.options.phase) return;
    const message = state.message;
    if (this.pending.has(message) || message.has('smtp_cbv_reason')) return; // rcptto: only the first accepted RCPT
    const skip = (reason: string) => {
      message.set('smtp_cbv_reason', reason);
      this.logger.info({ event: 'cbv.skip', session: state.id, reason }, `cbv skipped: ${reason}`);
    };
    if (state.connection.get('__bypass_smtp_cbv')?.toLowerCase() === 'true') return skip('bypass');
    const sender = state.mailFrom ?? '';
    if (sender === '') return skip('null-sender');
    const startedAt = Date.now();
    this.logger.info({ event: 'cbv.start', session: state.id, phase, sender }, 'cbv started');
    const done = this.engine.verify(sender).then(
      (verdict) => {
        for (const [k, v] of Object.entries(contextVariables(verdict))) message.set(k, v);
        this.logger.info(
          { event: 'cbv.result', session: state.id, sender, status: verdict.status, result: verdict.result, stage: verdict.stage, reason: verdict.reason, cached: verdict.cached, durationMs: verdict.durationMs },
          `cbv ${verdict.status}`,
        );
      },
      (err: unknown) => {
        // The engine does not throw; if it ever does, the verdict is transient, not a crash.
        message.set('smtp_cbv_result', 'transient');
        message.set('smtp_cbv_reason', 'internal-error');
        this.logger.error({ event: 'cbv.error', session: state.id, err: String(err) }, 'cbv failed');
      },
    );
    this.pending.set(message, { done, startedAt });
  }

  /**
   * Waits for the transaction's verdict, if one is under way, no longer
   * than what is left of the deadline. Past it, the verdict is transient
   * with reason `deadline` (the probe may still finish and fill the cache).
   */
  async wait(state: SessionState): Promise<void> {
    const message = state.message;
    const pending = this.pending.get(message);
    if (!pending || message.has('smtp_cbv_reason')) return;
    const left = pending.startedAt + this.options.deadlineMs - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), Math.max(0, left));
    });
    const first = await Promise.race([pending.done, expired]);
    clearTimeout(timer);
    if (first === 'expired' && !message.has('smtp_cbv_reason')) {
      message.set('smtp_cbv_result', 'transient');
      message.set('smtp_cbv_reason', 'deadline');
      this.logger.info({ event: 'cbv.deadline', session: state.id }, 'cbv verdict not in by the deadline');
    }
  }
}
