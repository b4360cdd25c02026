/**
 * Where a statement came from: its file and the chain of includes that led
 * there. Every diagnostic the loader makes is built here, so that an error in
 * an included file always shows its include chain.
 */
import type { Diagnostic, Position } from '../diagnostics.js';

export interface IncludeSite {
  file: string;
  line: number;
  column: number;
}

export interface Origin {
  file: string;
  /** Outermost first; empty for the top file. */
  includedFrom: IncludeSite[];
}

export function diagnosticAt(origin: Origin, pos: Position, message: string, severity: Diagnostic['severity'] = 'error'): Diagnostic {
  const d: Diagnostic = { severity, message, file: origin.file, line: pos.line, column: pos.column, offset: pos.offset };
  if (origin.includedFrom.length) d.includedFrom = origin.includedFrom.map((s) => ({ ...s }));
  return d;
}

/** `file:line:col`, for messages that point at an earlier place ("first set at ..."). */
export function placeOf(origin: Origin, pos: Position): string {
  return `${origin.file}:${pos.line}:${pos.column}`;
}

export const START: Position = { line: 1, column: 1, offset: 0 };
