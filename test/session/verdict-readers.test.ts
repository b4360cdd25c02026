/**
 * Whether a phase waits for the CBV verdict comes from what its scripts
 * read, learnt at compile time, not from their text.
 */
import { describe, expect, it } from 'vitest';
import { policyCompileOptions } from '../../src/policy/compile-options.js';
import { readsVerdict } from '../../src/session/verdict-readers.js';
import { compileSieve } from '../../src/sievepp/compile.js';

function facts(text: string, loadScript?: (name: string) => string | null) {
  const file = '/nonexistent/rcptto.siv';
  const r = compileSieve(text, { file, ...policyCompileOptions(file, { phase: 'rcptto' }), ...(loadScript ? { loadScript } : {}) });
  if (!r.script) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  return r.script.facts;
}

describe('reading the CBV verdict', () => {
  it('counts a context read of smtp_cbv_*: vctx_mess_get, the vctx_mess test, the environment item, the macro', () => {
    expect(readsVerdict(facts('$r = vctx_mess_get "smtp_cbv_result";'))).toBe(true);
    expect(readsVerdict(facts('if vctx_mess :is "smtp_cbv_reason" "rejected" { keep; }'))).toBe(true);
    expect(readsVerdict(facts('require "environment";\nif environment :is "vnd.smtp-cbv.smtp_cbv_result" "pass" { keep; }'))).toBe(true);
    expect(readsVerdict(facts('$x = 1;\nec_log "verdict %{vctx_mess:smtp_cbv_result}";'))).toBe(true);
  });

  it('counts a read whose key is computed at run time', () => {
    expect(readsVerdict(facts('$k = "smtp_cbv_result";\n$r = vctx_mess_get $k;'))).toBe(true);
  });

  it('does not count a comment, a string, or a read of another key', () => {
    expect(readsVerdict(facts('# smtp_cbv_result decides nothing here\nkeep;'))).toBe(false);
    expect(readsVerdict(facts('ec_log "smtp_cbv_result is not read";'))).toBe(false);
    expect(readsVerdict(facts('$r = vctx_mess_get "mailfrom_domain";'))).toBe(false);
  });

  it('counts what an included script reads', () => {
    const included = 'if vctx_mess :is "smtp_cbv_result" "error" { ec_action 550 "no"; }';
    expect(readsVerdict(facts('require "include";\ninclude "cbv";', (n) => (n === 'cbv' ? included : null)))).toBe(true);
  });
});

describe("reading the recipient call-ahead's verdict", () => {
  const RV = 'recipient_verify_';
  it('counts reads of recipient_verify_*, and only those, for that prefix', () => {
    expect(readsVerdict(facts('$r = vctx_mess_get "recipient_verify_result";'), RV)).toBe(true);
    expect(readsVerdict(facts('require "environment";\nif environment :is "vnd.smtp-cbv.recipient_verify_result" "fail" { keep; }'), RV)).toBe(true);
    expect(readsVerdict(facts('$x = 1;\nec_log "%{vctx_mess:recipient_verify_reason}";'), RV)).toBe(true);
    expect(readsVerdict(facts('$r = vctx_mess_get "smtp_cbv_result";'), RV)).toBe(false);
    expect(readsVerdict(facts('$r = vctx_mess_get "recipient_verify_result";'))).toBe(false);
  });
});
