/** Policy scripts by phase and slot, compiled as the server compiles a configuration's (src/policy/config-scripts.ts). */
import { policyCompileOptions } from '../../src/policy/compile-options.js';
import type { Phase } from '../../src/session/phases.js';
import type { PhaseScripts } from '../../src/session/policy.js';
import { compileSieve } from '../../src/sievepp/compile.js';

/** Script texts by phase, for its site (phase1) and vendor (phase2) slots. */
export type Bindings = Partial<Record<Phase, { phase1?: string; phase2?: string }>>;

/** The scripts compiled; a compile error throws with its positions. */
export function compilePhases(bindings: Bindings): Partial<Record<Phase, PhaseScripts>> {
  const out: Partial<Record<Phase, PhaseScripts>> = {};
  for (const [phase, slots] of Object.entries(bindings) as Array<[Phase, { phase1?: string; phase2?: string }]>) {
    const ps: PhaseScripts = {};
    for (const slot of ['phase1', 'phase2'] as const) {
      const text = slots[slot];
      if (!text) continue;
      const file = `${phase}_${slot}.siv`;
      const r = compileSieve(text, { file, ...policyCompileOptions(file, { phase }) });
      if (!r.script) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n'));
      ps[slot] = r.script;
    }
    out[phase] = ps;
  }
  return out;
}
