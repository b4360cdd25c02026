/**
 * ec_error_mode (sieve-ref-ec-error-mode.md): "fail", the default, ends
 * the run at a Sieve++ function's runtime error; "continue" turns it into
 * a warning, the call giving the empty string (false as a test), and the
 * script goes on. The run's limits are in budget.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { getValue } from '../../src/sievepp/values.js';
import { compileErrors, runPP } from './helpers.js';

const acts = (r: Awaited<ReturnType<typeof runPP>>) => r.actions.map((a) => a.def.describe(a));
const NO_SPOOL = 'ec_spool_space: this host has no spool';

describe('ec_error_mode', () => {
  it('by default a failing function ends the run', async () => {
    const r = await runPP('$s = ec_spool_space; ec_action 451 "4.3.1 after";');
    expect(r.errors.map((e) => e.message)).toEqual([NO_SPOOL]);
    expect(acts(r)).toEqual([]);
  });

  it('"continue": the failure is a warning, the value empty, a test false, and the script goes on; "fail" ends the next one', async () => {
    const r = await runPP('ec_error_mode "continue"; $s = ec_spool_space; if ec_throttle_check "t" { ec_action 550 "5.0.0 no"; } ec_action 451 "4.3.1 went on";');
    expect(r.errors).toEqual([]);
    expect(getValue(r.runtime, 's')).toBe('');
    expect(acts(r)).toEqual(['ec_action 451 "4.3.1 went on"']);
    const goesOn = ' (ec_error_mode "continue": the script goes on)';
    expect(r.runtime.warnings.map((w) => w.message)).toEqual([`${NO_SPOOL}${goesOn}`, `ec_throttle_check: this host keeps no throttles${goesOn}`]);
    const failed = await runPP('ec_error_mode "continue"; $s = ec_spool_space; ec_error_mode "fail"; $t = ec_spool_space; ec_action 451 "4.3.1 after";');
    expect(failed.errors.map((e) => e.message)).toEqual([NO_SPOOL]);
    expect(acts(failed)).toEqual([]);
  });

  it('"continue" covers a function whose failure comes after a wait', async () => {
    const r = await runPP('ec_error_mode "CONTINUE"; $s = ec_spool_space; ec_action 451 "4.3.1 went on";', { host: { spoolSpace: () => Promise.reject(new Error('EIO: the disk failed')) } });
    expect(r.errors).toEqual([]);
    expect(acts(r)).toEqual(['ec_action 451 "4.3.1 went on"']);
    expect(r.runtime.warnings.map((w) => w.message)).toEqual(['ec_spool_space: EIO: the disk failed (ec_error_mode "continue": the script goes on)']);
  });

  it('a mode other than continue or fail: a compile error when written, a runtime error when made', async () => {
    expect(compileErrors('ec_error_mode "ignore";')).toEqual([`1:15: ec_error_mode: 'ignore' is not "continue" or "fail"`]);
    const r = await runPP('$m = "later"; ec_error_mode "${m}";');
    expect(r.errors.map((e) => e.message)).toEqual([`ec_error_mode: 'later' is not "continue" or "fail"`]);
  });
});
