/**
 * docs/authentication.md stays true: its configuration example loads with
 * the modules on, its Sieve examples compile with the product's functions,
 * and every context variable the server sets is documented.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { policyCompileOptions } from '../../src/policy/compile-options.js';
import { AUTH_KEYS } from '../../src/session/context-keys.js';
import { compileSieve } from '../../src/sievepp/compile.js';

const doc = readFileSync(join(import.meta.dirname, '../../docs/authentication.md'), 'utf8');
const examples = [...doc.matchAll(/```sieve\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/authentication.md', () => {
  it('its configuration example turns every check on', () => {
    const text = /## Turning it on[\s\S]*?```\n([\s\S]*?)```/.exec(doc)![1]!;
    const r = parseConfigText(text, 'authentication.conf');
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.authentication).toMatchObject({ dmarc: true, authservId: 'mx.example.com', dnsServers: ['127.0.0.1:53'], timeoutMs: 20000 });
  });

  it.each(examples.map((e, i) => [i, e] as const))('example %i compiles for the data phase', (_i, text) => {
    const r = compileSieve(text, { file: 'x.siv', ...policyCompileOptions('x.siv', { phase: 'data' }) });
    expect(r.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual([]);
  });

  it('documents every context variable the checks set', () => {
    for (const key of AUTH_KEYS) expect(doc, key).toContain(`| \`${key}\` |`);
  });
});
