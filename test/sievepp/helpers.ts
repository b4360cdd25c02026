/** Compile-and-run helpers for the Sieve++ tests: phase, contexts and host as the server gives them. */
import { expect } from 'vitest';
import { compileSieve, type CompileOptions, type CompiledScript } from '../../src/sievepp/compile.js';
import { execute, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import type { Envelope } from '../../src/sieve/runtime/host.js';
import type { MomentumHost } from '../../src/sievepp/host.js';
import { getValue, type SieveValue } from '../../src/sievepp/values.js';
import { MESSAGE } from '../sieve/helpers.js';

export function compiledPP(script: string, options: CompileOptions = {}): CompiledScript {
  const r = compileSieve(script, options);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual([]);
  return r.script!;
}

export interface RunOptions {
  compile?: CompileOptions;
  message?: string | null;
  envelope?: Partial<Envelope>;
  host?: MomentumHost;
  phase?: string;
  connection?: Map<string, string>;
  messageContext?: Map<string, string>;
  /** When the message was made, ms (MomentumContext.messageCreatedAt). */
  messageCreatedAt?: number;
}

export async function runPP(script: string, o: RunOptions = {}): Promise<ExecutionResult> {
  const message = o.message === undefined ? parseMessage(MESSAGE) : o.message === null ? null : parseMessage(o.message);
  const envelope: Envelope = { from: 'joe@example.com', to: ['alice@example.org'], ...o.envelope };
  return execute(compiledPP(script, o.compile), { message, envelope, phase: o.phase, connectionContext: o.connection, messageContext: o.messageContext, ...(o.messageCreatedAt === undefined ? {} : { messageCreatedAt: o.messageCreatedAt }) }, o.host ?? {});
}

/** Runs a script without errors and returns the value of `$name`. */
export async function valueOf(script: string, name: string, o: RunOptions = {}): Promise<SieveValue> {
  const r = await runPP(script, o);
  expect(r.errors).toEqual([]);
  return getValue(r.runtime, name);
}

/** Positioned compile errors as "line:col: message". */
export function compileErrors(script: string, options: CompileOptions = {}): string[] {
  return compileSieve(script, options).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column}: ${d.message}`);
}
