/**
 * The smtp_cbv module at SMTP time (docs/cbv.md, "The Momentum surface"):
 * once the configured phase accepts (MAIL FROM, or the first RCPT TO), it
 * starts a callback verification of the envelope sender without holding up
 * the reply. A later phase whose scripts read the verdict waits for it,
 * never past the deadline; the verdict is kept on the transaction and its
 * `smtp_cbv_*` variables join the message context.
 *
 * Skipped, with `smtp_cbv_reason` saying why and `smtp_cbv_result` unset:
 * the null sender (`null-sender`), a connection whose context sets
 * `__bypass_smtp_cbv = "true"` (`bypass`), and `Enabled = false` (passive:
 * nothing starts by itself; the Sieve function still works).
 *
 * Long-lived: one per server, across reloads; the probe belongs to the
 * transaction that started it.
 */
import type { Logger } from 'pino';
import { contextVariables } from '../cbv/context.js';
import type { CbvVerifier } from '../cbv/sieve-function.js';
import { comesAfter, type Phase } from './phases.js';
import type { ConnectionState, Transaction } from './state.js';

export interface SenderVerificationOptions {
  enabled: boolean;
  phase: 'mailfrom' | 'rcptto';
  /** The overall deadline: no client waits longer than this for a verdict. */
  deadlineMs: number;
}

export class SenderVerification {
  constructor(
    /** The engine, or for a dry run any verifier (canned verdicts, no network). */
    public verifier: CbvVerifier,
    public options: SenderVerificationOptions,
    private readonly logger: Logger,
  ) {}

  /** True for phases after the one that starts the probe: the ones that may wait for it. */
  comesAfterStart(phase: Phase): boolean {
    return comesAfter(phase, this.options.phase);
  }

  /** The session accepted `phase`: starts the probe if this is its phase and none has started. */
  accepted(phase: Phase, connection: ConnectionState, tx: Transaction): void {
    if (!this.options.enabled || phase !== this.options.phase || tx.probe.state !== 'none') return;
    const skip = (reason: string) => {
      tx.settle({ smtp_cbv_reason: reason });
      this.logger.debug({ event: 'cbv.skip', session: connection.id, reason }, `cbv skipped: ${reason}`);
    };
    if (connection.context.get('__bypass_smtp_cbv')?.toLowerCase() === 'true') return skip('bypass');
    if (tx.mailFrom === '') return skip('null-sender');
    const startedAt = Date.now();
    // The debug lines' objects are built only when debug is on: this runs for every transaction.
    if (this.logger.isLevelEnabled('debug')) this.logger.debug({ event: 'cbv.start', session: connection.id, phase, sender: tx.mailFrom }, 'cbv started');
    const done = this.verifier.verify(tx.mailFrom).then(
      (verdict) => {
        // A verdict that comes in after the deadline is not believed for this transaction.
        if (tx.probe.state === 'running') tx.settle(contextVariables(verdict), verdict);
        if (!this.logger.isLevelEnabled('debug')) return;
        this.logger.debug(
          { event: 'cbv.result', session: connection.id, sender: tx.mailFrom, status: verdict.status, result: verdict.result, stage: verdict.stage, reason: verdict.reason, cached: verdict.cached, durationMs: verdict.durationMs },
          `cbv ${verdict.status}`,
        );
      },
      (err: unknown) => {
        // The engine does not throw; if it ever does, the verdict is transient, not a crash.
        if (tx.probe.state === 'running') tx.settle({ smtp_cbv_result: 'transient', smtp_cbv_reason: 'internal-error' });
        this.logger.error({ event: 'cbv.error', session: connection.id, err: String(err) }, 'cbv failed');
      },
    );
    tx.probe = { state: 'running', startedAt, done };
  }

  /**
   * Waits for the transaction's verdict, if one is under way, no longer
   * than what is left of the deadline. Past it, the verdict is transient
   * with reason `deadline` (the probe may still finish and fill the cache).
   */
  async settle(connection: ConnectionState, tx: Transaction): Promise<void> {
    const probe = tx.probe;
    if (probe.state !== 'running') return;
    const left = probe.startedAt + this.options.deadlineMs - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), Math.max(0, left));
    });
    await Promise.race([probe.done, expired]);
    clearTimeout(timer);
    if (tx.probe.state === 'running') {
      tx.settle({ smtp_cbv_result: 'transient', smtp_cbv_reason: 'deadline' });
      this.logger.debug({ event: 'cbv.deadline', session: connection.id }, 'cbv verdict not in by the deadline');
    }
  }

}
