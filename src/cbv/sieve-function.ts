/**
 * `smtp_callback_verify <address> [<sender>]` (docs/cbv.md, "Sieve function"):
 * the CBV engine as a Momentum Sieve++ function. It returns the two-element
 * list `[status, message]` (status pass | fail | transient | error, see
 * sieveReturn) and is allowed in the mailfrom and rcptto phases only.
 *
 * The Sieve core does not import src/cbv: this file declares the function
 * for the core's registry (src/policy/functions.ts adds it to the
 * product's), and the function finds the engine at run time in the host's
 * services under CBV_SERVICE. A host without one gets a runtime error; a
 * dry-run host can put any CbvVerifier there (a canned Verdict, no network).
 */
import type { SieveFunction } from '../sievepp/index.js';
import { argString } from '../sievepp/index.js';
import { hostOf } from '../sievepp/host.js';
import { sieveReturn } from './context.js';
import type { VerifyOptions } from './engine.js';
import type { Verdict } from './types.js';

/** The key of SieveHost.services that holds the engine. */
export const CBV_SERVICE = 'cbv';

/** What the function needs of the engine: CbvEngine has it; a stub for dry runs needs only this. */
export interface CbvVerifier {
  verify(address: string, opts?: VerifyOptions): Promise<Verdict>;
}

export const CBV_PHASES = ['mailfrom', 'rcptto'] as const;

export const smtpCallbackVerify: SieveFunction = verifierFunction({
  name: 'smtp_callback_verify',
  service: CBV_SERVICE,
  phases: CBV_PHASES,
  missing: 'no CBV engine is configured for this run',
});

/**
 * A `name <address> [<sender>]` function over a CbvVerifier found under
 * `service` at run time, returning `[status, message]`. The recipient
 * call-ahead's smtp_recipient_verify is the other one
 * (docs/recipient-verification.md).
 */
export function verifierFunction(spec: { name: string; service: string; phases: readonly string[]; missing: string }): SieveFunction {
  return {
    name: spec.name,
    uses: { value: true },
    params: [
      { name: 'address', type: 'string' },
      { name: 'sender', type: 'string', optional: true },
    ],
    phases: spec.phases,
    async call(b, rt) {
      const engine = hostOf(rt).services?.[spec.service] as CbvVerifier | undefined;
      if (!engine) return rt.fail(`${spec.name}: ${spec.missing}`, b.node.pos);
      const address = argString(b, rt, 0)!;
      // The optional sender overrides the module's mailfrom for this call (docs/cbv.md).
      const opts: VerifyOptions = b.args.length > 1 ? { sender: argString(b, rt, 1)! } : {};
      let verdict: Verdict;
      try {
        verdict = await engine.verify(address, opts);
      } catch (e) {
        // Name the address: a dry run's "no CBV stub" needs it to be actionable.
        return rt.fail(`${spec.name} "${address}": ${(e as Error).message}`, b.node.pos);
      }
      return [...sieveReturn(verdict)];
    },
  };
}
