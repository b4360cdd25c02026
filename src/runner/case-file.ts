/**
 * Policy case files (YAML, many cases a file; docs/testing-policies.md has
 * the format): parsed with the `yaml` package and checked key by key
 * (case-checker.ts), so that every problem is a diagnostic at
 * file:line:col, and nothing is run from a file with an error.
 */
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { type Diagnostic, type Position, sortDiagnostics } from '../diagnostics.js';
import type { CaseFile } from './case.js';
import { Checker } from './case-checker.js';

/** Reads and checks a case file; `file` is null when there is any error. */
export async function loadCaseFile(path: string): Promise<{ file: CaseFile | null; diagnostics: Diagnostic[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { file: null, diagnostics: [{ severity: 'error', message: `cannot read the case file (${(e as NodeJS.ErrnoException).code ?? e})`, file: path, line: 1, column: 1, offset: 0 }] };
  }
  return parseCaseFile(text, path);
}

export async function parseCaseFile(text: string, path: string): Promise<{ file: CaseFile | null; diagnostics: Diagnostic[] }> {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const diagnostics: Diagnostic[] = [];
  const posOf = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col, offset };
  };
  for (const e of doc.errors) diagnostics.push({ severity: 'error', message: e.message.split('\n')[0]!, file: path, ...posOf(e.pos[0]) });
  if (diagnostics.length) return { file: null, diagnostics };
  const c = new Checker(path, posOf, diagnostics);
  const out = c.file(doc.contents);
  if (out) await c.readMessages(out, dirname(path));
  sortDiagnostics(diagnostics);
  return { file: diagnostics.some((d) => d.severity === 'error') ? null : (out ?? null), diagnostics };
}
