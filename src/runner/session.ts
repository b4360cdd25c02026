/**
 * The inputs of a dry run and how they become the policy the server would
 * run: scripts compiled as the server compiles them
 * (src/policy/config-scripts.ts), the configuration's CBV module settings,
 * and the connection context a listener's peer ranges give the client's
 * address.
 */
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { type Config, peerContext } from '../config/index.js';
import type { Diagnostic } from '../diagnostics.js';
import { policyCompileOptions } from '../policy/compile-options.js';
import { compileConfigScripts } from '../policy/config-scripts.js';
import { type MailboxDirectory, mailboxDirectory } from '../policy/mailboxes.js';
import { createMomentumServices, type MomentumServices } from '../policy/momentum-services.js';
import type { Phase } from '../session/phases.js';
import type { PhaseScripts } from '../session/policy.js';
import { compileSieve } from '../sievepp/compile.js';
import type { ExternalList } from '../sieve/index.js';

/** A script's text, or a file to read it from (`file` also names it in errors and traces). */
export type ScriptSource = string | { file: string; text?: string };
/** A phase's script: one (phase 1), or both slots. */
export type PhaseSource = ScriptSource | { phase1?: ScriptSource; phase2?: ScriptSource };

export interface DryRunConnection {
  /** The client's address (default 192.0.2.1, TEST-NET-1). */
  ip?: string;
  port?: number;
  /** The EHLO argument (default client.example); HELO when `esmtp` is false. */
  helo?: string;
  esmtp?: boolean;
  /** The session is under TLS (as after STARTTLS). */
  tls?: boolean;
  /** The client authenticated as this user. */
  auth?: string;
}

export interface ModuleSettings {
  enabled: boolean;
  phase: 'mailfrom' | 'rcptto';
}

export interface PolicyParts {
  scripts: Partial<Record<Phase, PhaseScripts>>;
  /** The configuration's `List` scopes (RFC 6134), as the server serves them. */
  externalLists?: ReadonlyMap<string, ExternalList>;
  /** The configuration's mailboxes (RFC 5490, RFC 8579), as the server answers them. */
  mailboxes?: MailboxDirectory;
  diagnostics: Diagnostic[];
  runtimeError: 'fail' | 'continue';
  hostname: string;
  /** The text after "220 <hostname> ESMTP" (smtp-server's banner). */
  greeting: string;
  maxTarpitSeconds?: number;
  /** The connection context for a client address (listener and peer Context). */
  contextFor(ip: string): Record<string, string>;
  module: ModuleSettings;
  /**
   * The configuration's Sieve++ services, as `serve` opens them: its
   * datasources (read-only here: a dry run reads a policy's data and never
   * changes it; ds_execute fails as on a read-only database), its
   * `cidr_list` tables and the ec_include loader.
   */
  momentum?: MomentumServices;
}

const silent = pino({ level: 'silent' });

/** The parts from a loaded configuration: the scripts it binds, its first listener's context, its smtp_cbv module. */
export async function partsFromConfig(config: Config): Promise<PolicyParts> {
  const { scripts, externalLists, diagnostics } = await compileConfigScripts(config);
  const listener = config.listeners[0];
  const c = config.smtpCbv;
  return {
    scripts,
    externalLists,
    mailboxes: mailboxDirectory(config.mailboxes),
    diagnostics,
    runtimeError: config.sieve.runtimeError,
    hostname: listener?.hostname ?? config.server.hostname ?? 'mx.example',
    greeting: listener?.greeting ?? config.server.greeting ?? 'smtp-cbv',
    maxTarpitSeconds: config.server.maxTarpitMs / 1000,
    contextFor: (ip) => (listener ? peerContext(listener, ip) : {}),
    // No smtp_cbv scope: no automatic probe, but the function still finds its (stub) engine.
    module: c ? { enabled: c.enabled, phase: c.phase } : { enabled: false, phase: 'mailfrom' },
    momentum: createMomentumServices(config, { readOnly: true }),
  };
}

/** The parts from scripts given directly (Momentum dialect, no listener context, passive CBV unless `module` says). */
export async function partsFromScripts(sources: Partial<Record<Phase, PhaseSource>>, module?: ModuleSettings): Promise<PolicyParts> {
  const scripts: Partial<Record<Phase, PhaseScripts>> = {};
  const diagnostics: Diagnostic[] = [];
  for (const [phase, source] of Object.entries(sources) as Array<[Phase, PhaseSource]>) {
    const slots = typeof source === 'object' && !('file' in source) ? source : { phase1: source };
    for (const slot of ['phase1', 'phase2'] as const) {
      const s = slots[slot];
      if (s === undefined) continue;
      const { text, file } = await readSource(s, `${phase}_${slot}`, diagnostics);
      if (text === null) continue;
      const compiled = compileSieve(text, { file, ...policyCompileOptions(file, { dialect: 'momentum', phase }) });
      diagnostics.push(...compiled.diagnostics);
      if (compiled.script) (scripts[phase] ??= {})[slot] = compiled.script;
    }
  }
  return { scripts, diagnostics, runtimeError: 'fail', hostname: 'mx.example', greeting: 'smtp-cbv', contextFor: () => ({}), module: module ?? { enabled: false, phase: 'mailfrom' } };
}

async function readSource(s: ScriptSource, name: string, diagnostics: Diagnostic[]): Promise<{ text: string | null; file: string }> {
  if (typeof s === 'string') return { text: s, file: `${name}.siv` };
  if (s.text !== undefined) return { text: s.text, file: s.file };
  try {
    return { text: await readFile(s.file, 'utf8'), file: s.file };
  } catch (e) {
    diagnostics.push({ severity: 'error', message: `cannot read the script (${(e as NodeJS.ErrnoException).code ?? e})`, file: s.file, line: 1, column: 1, offset: 0 });
    return { text: null, file: s.file };
  }
}

export { silent as silentLogger };
