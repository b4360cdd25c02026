/**
 * The SMTP phases a session passes through, in order, and where a message
 * exists. Every other module asks here (docs/server.md, "Phases").
 *
 * `spool` and `each_rcpt` are Momentum's phases after DATA's scripts and
 * before the reply to the final dot (3-reference-modules-reception-timing.md,
 * stage 12: "processed with the data_spool and each_rcpt phase policy
 * scripts"): spool once for the message, each_rcpt once per accepted
 * recipient (message-phases.ts).
 */

/** The phases in the order a session meets them. */
export const PHASES = ['connect', 'ehlo', 'mailfrom', 'rcptto', 'data', 'spool', 'each_rcpt'] as const;
export type Phase = (typeof PHASES)[number];

/** The phases that run after DATA's scripts, inside the answer to the final dot (message-phases.ts). */
export type MessagePhase = 'spool' | 'each_rcpt';

/** The phases whose scripts see the message (src/sievepp/compile.ts MESSAGE_PHASES says the same to the compiler). */
export function hasMessage(phase: Phase): boolean {
  return phase === 'data' || phase === 'spool' || phase === 'each_rcpt';
}

const ORDER = new Map<string, number>(PHASES.map((p, i) => [p, i]));

export function isPhase(name: string): name is Phase {
  return ORDER.has(name);
}

/** True when `a` comes after `b` in a session. */
export function comesAfter(a: Phase, b: Phase): boolean {
  return ORDER.get(a)! > ORDER.get(b)!;
}
