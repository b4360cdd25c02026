/**
 * The SMTP phases a session passes through, in order, and where a message
 * exists. Every other module asks here (docs/server.md, "Phases").
 */

/** The phases in the order a session meets them. */
export const PHASES = ['connect', 'ehlo', 'mailfrom', 'rcptto', 'data'] as const;
export type Phase = (typeof PHASES)[number];

const ORDER = new Map<string, number>(PHASES.map((p, i) => [p, i]));

export function isPhase(name: string): name is Phase {
  return ORDER.has(name);
}

/** True when `a` comes after `b` in a session. */
export function comesAfter(a: Phase, b: Phase): boolean {
  return ORDER.get(a)! > ORDER.get(b)!;
}
