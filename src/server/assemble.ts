/**
 * From a loaded configuration to the reloadable part of a server: the
 * compiled policy, and the listener settings. Used at start-up and again on
 * SIGHUP, where a failure keeps what runs. The long-lived services are
 * services.ts's.
 */
import { readFile } from 'node:fs/promises';
import { type Config, peerContext, peerLimits } from '../config/index.js';
import { type Diagnostic, hasErrors } from '../diagnostics.js';
import type { ListenerOptions } from '../frontdoors/smtp/smtp-front.js';
import { compileConfigScripts } from '../policy/config-scripts.js';
import { mailboxDirectory } from '../policy/mailboxes.js';
import { SievePolicy } from '../session/policy.js';

export interface Assembled {
  policy: SievePolicy;
  listeners: ListenerOptions[];
  diagnostics: Diagnostic[];
}

/** Compiles every script the configuration binds; null with diagnostics when any has an error. */
export async function assemble(config: Config): Promise<{ assembled: Assembled | null; diagnostics: Diagnostic[] }> {
  const { scripts, externalLists, diagnostics } = await compileConfigScripts(config);
  if (hasErrors(diagnostics)) return { assembled: null, diagnostics };
  const policy = new SievePolicy({ scripts, runtimeError: config.sieve.runtimeError, externalLists, mailboxes: mailboxDirectory(config.mailboxes) });
  const listeners: ListenerOptions[] = [];
  for (const l of config.listeners) {
    listeners.push({
      host: l.host,
      port: l.port,
      contextFor: (ip) => peerContext(l, ip),
      limitsFor: (ip) => peerLimits(l, ip),
      ...(l.tlsKey && l.tlsCertificate ? await readTls(l.tlsKey, l.tlsCertificate, l.declaredAt, diagnostics) : {}),
      ...(l.hostname ? { hostname: l.hostname } : {}),
      ...(l.greeting ? { greeting: l.greeting } : {}),
      maxMessageSize: l.maxMessageSize,
      maxConnectionsPerIp: l.maxConnectionsPerIp,
    });
  }
  if (hasErrors(diagnostics)) return { assembled: null, diagnostics };
  return { assembled: { policy, listeners, diagnostics }, diagnostics };
}

async function readTls(keyFile: string, certFile: string, declaredAt: { file: string; line: number; column: number } | null, diagnostics: Diagnostic[]) {
  try {
    return { tls: { key: await readFile(keyFile), cert: await readFile(certFile) } };
  } catch (e) {
    const where = declaredAt ?? { file: '<config>', line: 1, column: 1 };
    diagnostics.push({ severity: 'error', message: `cannot read the TLS key or certificate: ${(e as Error).message}`, file: where.file, line: where.line, column: where.column, offset: 0 });
    return {};
  }
}
