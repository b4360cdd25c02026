/**
 * ec_error_mode "continue" | "fail" (sieve-ref-ec-error-mode.md): what a
 * Sieve++ function's runtime error does for the rest of the run. "fail",
 * the default, ends the run as any runtime error does (the server answers
 * with the configured `runtime_error` reply); "continue" makes it a
 * warning, the call giving the empty string, and the script goes on
 * (callFunction in ../functions.ts). The run's limits end it either way.
 */
import { ERROR_MODE, argString, type SieveFunction } from '../functions.js';

const MODES = new Set(['continue', 'fail']);

const errorMode: SieveFunction = {
  name: 'ec_error_mode',
  uses: { command: true },
  params: [{ name: 'continue|fail', type: 'string' }],
  validate(b, v) {
    const a = b.args[0];
    if (a?.kind === 'string' && typeof a.template === 'string' && !MODES.has(a.template.toLowerCase())) v.error(a.node.pos, `ec_error_mode: '${a.template}' is not "continue" or "fail"`);
  },
  call(b, rt) {
    const mode = (argString(b, rt, 0) ?? '').toLowerCase();
    // Checked before the mode changes: under "continue" a bad mode is a warning, and the mode stays.
    if (!MODES.has(mode)) return rt.fail(`ec_error_mode: '${mode}' is not "continue" or "fail"`, b.node.pos);
    rt.state.set(ERROR_MODE, mode);
  },
};

export const errorModeFunctions: SieveFunction[] = [errorMode];
