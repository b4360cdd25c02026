/**
 * From a loaded configuration to the parts a running server needs: compiled
 * phase scripts, the CBV engine and module, listener settings. Used at
 * start-up and again on SIGHUP, where a failure keeps the running parts.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { createCbvEngine } from '../cbv/engine.js';
import { cbvEngineOptions, peerContext, referencedScripts, type Config } from '../config/index.js';
import { type Diagnostic, hasErrors } from '../diagnostics.js';
import { createDnsLookup } from '../policy/dns-lookup.js';
import { createMomentumServices } from '../policy/momentum-services.js';
import { productFunctions } from '../policy/functions.js';
import { compileSieve } from '../sievepp/compile.js';
import { CbvModule } from './cbv-module.js';
import { SievePolicy, type PhaseScripts } from './sieve-policy.js';
import type { ListenerOptions, ServerOptions } from './smtp.js';
import { PHASES, type Phase } from './types.js';

export interface Assembled {
  policy: SievePolicy;
  cbv: CbvModule | null;
  listeners: ListenerOptions[];
  server: Pick<ServerOptions, 'hostname' | 'maxMessageSize' | 'maxConnectionsPerIp' | 'maxTarpitMs' | 'socketTimeoutMs'>;
  diagnostics: Diagnostic[];
}

const SERVED = new Set<string>(PHASES);

/** The Sieve++ services of the configuration; a datasource that cannot be opened is a warning. */
function momentumServices(config: Config, logger: Logger, diagnostics: Diagnostic[]) {
  const services = createMomentumServices(config, { onLogError: (file, e) => logger.warn({ event: 'ec_log_file', file, err: String(e) }, 'ec_log_file failed') });
  for (const p of services.problems) diagnostics.push({ severity: 'warning', message: p, file: config.file, line: 1, column: 1, offset: 0 });
  return services;
}

/** Compiles every script the configuration binds; null with diagnostics when any has an error. */
export async function assemble(config: Config, logger: Logger, hostname: string): Promise<{ assembled: Assembled | null; diagnostics: Diagnostic[] }> {
  const { scripts, diagnostics } = await compileConfigScripts(config);
  if (hasErrors(diagnostics)) return { assembled: null, diagnostics };

  let cbv: CbvModule | null = null;
  const c = config.smtpCbv;
  if (c) {
    // Momentum's Debug_Level: this module's own log level, else the global one.
    const cbvLogger = c.debugLevel ? logger.child({}, { level: c.debugLevel }) : logger;
    const engine = createCbvEngine({ ...cbvEngineOptions(c), logger: cbvLogger });
    cbv = new CbvModule(engine, { enabled: c.enabled, phase: c.phase, deadlineMs: c.timeoutMs }, cbvLogger);
  }
  const policy = new SievePolicy({
    scripts,
    runtimeError: config.sieve.runtimeError,
    cbv: cbv ?? undefined,
    logger: config.sieve.debugLevel ? logger.child({}, { level: config.sieve.debugLevel }) : logger,
    hostname,
    // ec_dns_lookup asks the same resolvers as the CBV engine.
    dnsLookup: createDnsLookup({ servers: c?.dnsServers }),
    maxTarpitSeconds: config.server.maxTarpitMs / 1000,
    // Made per assembly for now: the session machine is to create them once and keep them across reloads.
    momentum: momentumServices(config, logger, diagnostics),
  });
  const listeners: ListenerOptions[] = [];
  for (const l of config.listeners) {
    listeners.push({
      host: l.host,
      port: l.port,
      contextFor: (ip) => peerContext(l, ip),
      ...(l.tlsKey && l.tlsCertificate ? await readTls(l.tlsKey, l.tlsCertificate, l.declaredAt, diagnostics) : {}),
      ...(l.hostname ? { hostname: l.hostname } : {}),
      ...(l.greeting ? { greeting: l.greeting } : {}),
      maxMessageSize: l.maxMessageSize,
      maxConnectionsPerIp: l.maxConnectionsPerIp,
    });
  }
  if (hasErrors(diagnostics)) return { assembled: null, diagnostics };
  const s = config.server;
  return {
    assembled: {
      policy,
      cbv,
      listeners,
      server: { hostname: s.hostname ?? hostname, maxMessageSize: s.maxMessageSize, maxConnectionsPerIp: s.maxConnectionsPerIp, maxTarpitMs: s.maxTarpitMs, socketTimeoutMs: s.socketTimeoutMs },
      diagnostics,
    },
    diagnostics,
  };
}

/**
 * Compiles the scripts the configuration binds, by phase and slot (the
 * server and the dry-run runner both start here).
 */
export async function compileConfigScripts(config: Config): Promise<{ scripts: Partial<Record<Phase, PhaseScripts>>; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const scripts: Partial<Record<Phase, PhaseScripts>> = {};
  if (config.sieve.enabled) {
    for (const ref of referencedScripts(config)) {
      if (!SERVED.has(ref.phase)) {
        diagnostics.push({ severity: 'warning', message: `the ${ref.phase} phase is not run by this server; ${ref.path} is ignored`, ...at(ref.declaredAt) });
        continue;
      }
      const phase = ref.phase as Phase;
      let text: string;
      try {
        text = await readFile(ref.path, 'utf8');
      } catch (e) {
        diagnostics.push({ severity: 'error', message: `cannot read the script (${(e as NodeJS.ErrnoException).code ?? e}): ${ref.path}`, ...at(ref.declaredAt) });
        continue;
      }
      // Tests that read the message are compile errors before DATA (sieve-dialect.md, "Phases").
      const compiled = compileSieve(text, { file: ref.path, dialect: config.sieve.dialect, phase, hasMessage: phase === 'data', functions: productFunctions() });
      diagnostics.push(...compiled.diagnostics);
      if (!compiled.script) continue;
      const slot = (scripts[phase] ??= { readsCbv: false });
      slot[ref.order === 1 ? 'phase1' : 'phase2'] = compiled.script;
      slot.readsCbv ||= /smtp_cbv/i.test(text);
    }
  }
  return { scripts, diagnostics };
}

async function readTls(keyFile: string, certFile: string, declaredAt: { file: string; line: number; column: number } | null, diagnostics: Diagnostic[]) {
  try {
    return { tls: { key: await readFile(keyFile), cert: await readFile(certFile) } };
  } catch (e) {
    const where = declaredAt ?? { file: '<config>', line: 1, column: 1 };
    diagnostics.push({ severity: 'error', message: `cannot read the TLS key or certificate: ${(e as Error).message}`, ...at(where) });
    return {};
  }
}

function at(ref: { file: string; line: number; column: number }) {
  return { file: ref.file, line: ref.line, column: ref.column, offset: 0 };
}
