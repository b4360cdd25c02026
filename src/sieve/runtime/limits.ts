/**
 * The limits of a run: actions and redirects (RFC 5228 2.10.6), steps,
 * variable size (RFC 5229 3) and CPU time, with Pigeonhole's defaults, and
 * how a Pigeonhole time setting is read.
 */

export interface RuntimeLimits {
  maxActions: number;
  maxRedirects: number;
  /** Commands and tests evaluated per run before the run is stopped. */
  maxSteps: number;
  /** RFC 5229 3: longest variable value, in UTF-8 octets (Pigeonhole's default 4096). */
  maxVariableSize: number;
  /** Wall-clock budget of a run in milliseconds (Pigeonhole's sieve_max_cpu_time). */
  maxCpuMs: number;
}

export const defaultRuntimeLimits: Readonly<RuntimeLimits> = Object.freeze({
  maxActions: 32,
  maxRedirects: 4,
  maxSteps: 1_000_000,
  maxVariableSize: 4096,
  maxCpuMs: 10_000,
});

/** "2s", "500ms", "1m", "30" (seconds): Pigeonhole's time settings, in milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*([0-9]+)\s*(ms|msecs?|s|secs?|m|mins?)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  return unit.startsWith('ms') ? n : unit.startsWith('m') ? n * 60_000 : n * 1000;
}
