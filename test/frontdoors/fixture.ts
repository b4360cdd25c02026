/**
 * The policy and milter front doors on 127.0.0.1 and a free port, over a
 * SievePolicy compiled from inline scripts, with the store beside an MTA
 * (nothing stored).
 */
import pino from 'pino';
import { MilterClient } from '../helpers/milter-client.js';
import { keptByMta } from '../../src/frontdoors/beside-mta.js';
import { createMilterFront } from '../../src/frontdoors/milter/milter-front.js';
import { createPolicyFront } from '../../src/frontdoors/policy/policy-front.js';
import type { TcpFront } from '../../src/frontdoors/tcp-front.js';
import { policyCompileOptions } from '../../src/policy/compile-options.js';
import type { Phase } from '../../src/session/phases.js';
import { type PhaseScripts, type Policy, SievePolicy } from '../../src/session/policy.js';
import type { SessionServices } from '../../src/session/session.js';
import { compileSieve } from '../../src/sievepp/compile.js';

export type Bindings = Partial<Record<Phase, string>>;

export function sievePolicy(bindings: Bindings): SievePolicy {
  const scripts: Partial<Record<Phase, PhaseScripts>> = {};
  for (const [phase, text] of Object.entries(bindings) as Array<[Phase, string]>) {
    const file = `${phase}.siv`;
    const r = compileSieve(text, { file, ...policyCompileOptions(file, { phase }) });
    if (!r.script) throw new Error(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`).join('\n'));
    scripts[phase] = { phase1: r.script };
  }
  return new SievePolicy({ scripts, runtimeError: 'fail' });
}

export interface LogLine {
  event?: string;
  msg?: string;
  [k: string]: unknown;
}

/** A logger whose lines a test can read. */
export function capturingLogger() {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

export function services(overrides: Partial<SessionServices> = {}): SessionServices {
  return { logger: pino({ level: 'silent' }), counters: new Map(), functionServices: {}, store: keptByMta, maxTarpitMs: 200, ...overrides };
}

const common = { host: '127.0.0.1', port: 0, hostname: 'mx.test', context: {}, deadlineMs: 5000, idleTimeoutMs: 10_000, maxConnections: 50 };

export interface MilterExtra {
  maxMessageSize?: number;
  maxFrame?: number;
  context?: Record<string, string>;
  maxMessageMemory?: number;
  messageInMemoryLimit?: number;
  incomingDir?: string;
}

export async function startMilter(policy: Policy, s: SessionServices = services(), extra: MilterExtra = {}): Promise<{ front: TcpFront; port: number }> {
  const { maxFrame, context, maxMessageSize, ...incoming } = extra;
  const front = createMilterFront({ ...common, context: context ?? {}, logger: s.logger, maxMessageSize: maxMessageSize ?? 100_000, ...(maxFrame ? { maxFrame } : {}), ...incoming }, { policy: () => policy, services: s });
  const { port } = await front.start();
  return { front, port };
}

/** A milter client on `port` that has negotiated, kept in `clients` for closing. */
export async function negotiatedClient(port: number, clients: MilterClient[]): Promise<MilterClient> {
  const c = await MilterClient.open(port);
  clients.push(c);
  await c.negotiate();
  return c;
}

export async function startPolicy(policy: Policy, s: SessionServices = services(), context: Record<string, string> = {}) {
  const { front, delegation } = createPolicyFront({ ...common, context, logger: s.logger, maxSessions: 100, sessionIdleMs: 60_000 }, { policy: () => policy, services: s });
  const { port } = await front.start();
  return { front, delegation, port };
}
