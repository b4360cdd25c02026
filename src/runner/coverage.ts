/**
 * `smtp-cbv test --coverage`: which lines and branches of each script the
 * cases exercised, from the traces of their dry runs. A line is a line
 * that holds a command; a branch is each outcome (true, false) of the test
 * of an `if` or `elsif`.
 */
import { relative } from 'node:path';
import type { Phase } from '../session/phases.js';
import type { Bound, CompiledScript } from '../sieve/index.js';
import type { DryRunResult } from './dry-run.js';

interface Branch {
  line: number;
  command: string;
  seen: { true: boolean; false: boolean };
}

interface ScriptCoverage {
  name: string;
  lines: Set<number>;
  hit: Set<number>;
  /** By the offset of the if/elsif test. */
  branches: Map<number, Branch>;
}

export class Coverage {
  private readonly scripts = new Map<string, ScriptCoverage>();

  addScripts(list: ReadonlyArray<{ phase: Phase; slot: string; script: CompiledScript }>): void {
    for (const { phase, slot, script } of list) {
      const name = script.file ?? `${phase}_${slot}`;
      if (this.scripts.has(name)) continue;
      const sc: ScriptCoverage = { name: script.file ? relative(process.cwd(), script.file) || name : name, lines: new Set(), hit: new Set(), branches: new Map() };
      walk(script.commands, sc);
      this.scripts.set(name, sc);
    }
  }

  addRun(run: DryRunResult): void {
    for (const phase of run.phases) {
      for (const t of phase.trace) {
        const sc = this.scripts.get(t.file ?? `${t.phase}_${t.slot}`);
        if (!sc) continue;
        if (t.event.kind === 'command') sc.hit.add(t.event.pos.line);
        else {
          const branch = sc.branches.get(t.event.pos.offset);
          if (branch) branch.seen[t.event.result ? 'true' : 'false'] = true;
        }
      }
    }
  }

  /** One block per script: totals, then what was never run. */
  report(): string {
    const out: string[] = [];
    for (const sc of [...this.scripts.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      const lines = [...sc.lines].sort((a, b) => a - b);
      const hit = lines.filter((l) => sc.hit.has(l));
      const branches = [...sc.branches.values()].sort((a, b) => a.line - b.line);
      const taken = branches.reduce((n, b) => n + Number(b.seen.true) + Number(b.seen.false), 0);
      out.push(`${sc.name}: lines ${hit.length}/${lines.length} (${pct(hit.length, lines.length)}), branches ${taken}/${branches.length * 2} (${pct(taken, branches.length * 2)})`);
      for (const l of lines) if (!sc.hit.has(l)) out.push(`  line ${l}: never run`);
      for (const b of branches) {
        const missing = (['true', 'false'] as const).filter((k) => !b.seen[k]);
        if (missing.length && sc.hit.has(b.line)) out.push(`  line ${b.line}: ${b.command} test never ${missing.join(' nor ')}`);
      }
    }
    return `${out.join('\n')}\n`;
  }
}

function walk(list: readonly Bound[] | null, sc: ScriptCoverage): void {
  for (const b of list ?? []) {
    if (b.chained) continue; // elsif/else: walked from their if
    for (const c of b.def.name === 'if' ? [b, ...(b.chain ?? [])] : [b]) {
      sc.lines.add(c.node.pos.line);
      const test = c.def.name === 'else' ? undefined : c.tests[0];
      if (test && (c.def.name === 'if' || c.def.name === 'elsif')) sc.branches.set(test.node.pos.offset, { line: c.node.pos.line, command: c.def.name, seen: { true: false, false: false } });
      walk(c.block, sc);
    }
  }
}

const pct = (n: number, d: number) => (d === 0 ? '100%' : `${Math.floor((100 * n) / d)}%`);
