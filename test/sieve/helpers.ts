/** Compile-and-run helpers for the Sieve unit tests. */
import { expect } from 'vitest';
import { compileSieve, type CompiledScript } from '../../src/sieve/compile.js';
import { execute, type ExecutionResult } from '../../src/sieve/interpreter.js';
import { parseMessage } from '../../src/sieve/runtime/message.js';
import type { RuntimeLimits } from '../../src/sieve/runtime/limits.js';
import type { Envelope, SieveHost } from '../../src/sieve/runtime/host.js';

export const MESSAGE = [
  'From: "Joe Sender" <joe@example.com>',
  'To: alice+sieve@example.org, Bob <bob@example.net>',
  'Subject: =?utf-8?q?H=C3=A9llo?= world',
  'X-Count: 7',
  '',
  'Body text.',
  '',
].join('\n');

export function compiled(script: string): CompiledScript {
  const r = compileSieve(script);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return r.script!;
}

export async function run(
  script: string,
  opts: { message?: string | null; envelope?: Partial<Envelope>; host?: SieveHost; limits?: Partial<RuntimeLimits> } = {},
): Promise<ExecutionResult> {
  const message = opts.message === null ? null : parseMessage(opts.message ?? MESSAGE);
  const envelope: Envelope = { from: 'joe@example.com', to: ['alice@example.org'], ...opts.envelope };
  return execute(compiled(script), { message, envelope }, opts.host ?? {}, { limits: opts.limits });
}

/** Runs a script that sets ${r} and returns it. */
export async function resultVar(script: string, opts: Parameters<typeof run>[1] = {}): Promise<string> {
  const r = await run(script, opts);
  expect(r.errors).toEqual([]);
  return r.runtime.variable('r', undefined);
}

/** True when the test expression holds for the default message. */
export async function holds(requires: string, test: string, opts: Parameters<typeof run>[1] = {}): Promise<boolean> {
  const r = await run(`${requires ? `require [${requires}];` : ""} if ${test} { discard; }`, opts);
  expect(r.errors).toEqual([]);
  return r.actions.some((a) => a.type === 'discard');
}

export function errorsOf(script: string, options: Parameters<typeof compileSieve>[1] = {}): string[] {
  return compileSieve(script, options).diagnostics.filter((d) => d.severity === 'error').map((d) => d.message);
}
