/**
 * Positioned problems found in a script or a configuration file.
 *
 * Errors are values, collected and returned, never thrown past a boundary:
 * a parser reports every problem it can find in one run.
 */

/** A place in a source text. `line` and `column` count from 1, `offset` from 0. */
export interface Position {
  line: number;
  column: number;
  offset: number;
}

export type Severity = 'error' | 'warning';

export interface Diagnostic extends Position {
  severity: Severity;
  message: string;
  /** The file the problem is in, when it came from a file. */
  file?: string;
  /** For problems inside included files: the chain of includes that led there, outermost first. */
  includedFrom?: Array<{ file: string; line: number; column: number }>;
}

/** `FILE:LINE:COL: error: MESSAGE`, the form compilers use and editors understand. */
export function formatDiagnostic(d: Diagnostic, fallbackFile = '<input>'): string {
  const head = `${d.file ?? fallbackFile}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
  if (!d.includedFrom?.length) return head;
  const chain = d.includedFrom.map((i) => `  included from ${i.file}:${i.line}:${i.column}`);
  return [head, ...chain].join('\n');
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Orders diagnostics by file, then position, so that output reads top to bottom. */
export function sortDiagnostics(diagnostics: Diagnostic[]): Diagnostic[] {
  return diagnostics.sort(
    (a, b) => (a.file ?? '').localeCompare(b.file ?? '') || a.offset - b.offset,
  );
}
