/**
 * ec_trace_context (sieve-ref-ec-trace-context.md): an X-Trace-Context
 * field holding both contexts, added as ec_header_add's fields are, and
 * written (encoded, folded) as the server writes any added field.
 */
import { describe, expect, it } from 'vitest';
import { applyHeaderEdits } from '../../src/session/header-edits.js';
import { traceContextValue } from '../../src/sievepp/functions/trace-context.js';
import { runPP } from './helpers.js';

describe('ec_trace_context', () => {
  it('adds X-Trace-Context with the connection and message contexts, values quoted, line breaks made spaces', async () => {
    const r = await runPP('vctx_mess_set "note" "two\r\nlines \\"quoted\\""; ec_trace_context;', {
      connection: new Map([['remote_ip', '192.0.2.3'], ['ehlo_domain', 'mx.example.org']]),
      messageContext: new Map([['mailfrom', 'joe@example.com']]),
    });
    expect(r.errors).toEqual([]);
    expect(r.actions.map((a) => [a.type, a.data])).toEqual([
      ['header_add', { name: 'X-Trace-Context', value: 'connection: remote_ip="192.0.2.3", ehlo_domain="mx.example.org"; message: mailfrom="joe@example.com", note="two lines \\"quoted\\""' }],
    ]);
  });

  it('caps a large context, marking each cut, and the field is folded as any added field', () => {
    const value = traceContextValue(new Map([['big', 'x '.repeat(2000)]]), new Map(Array.from({ length: 40 }, (_, i) => [`k${i}`, 'y '.repeat(300)] as [string, string])));
    expect(value).toMatch(/^connection: big="(x ){500}\.\.\."; message: k0=/);
    expect(value).toMatch(/\.\.\. \(\d+ characters more\)$/);
    expect(value.length).toBeLessThan(16_384 + 40);
    const written = applyHeaderEdits('Subject: hi\r\n\r\nbody\r\n', [{ op: 'add', name: 'X-Trace-Context', value }]);
    const field = written.slice(0, written.indexOf('\r\nSubject:'));
    expect(field.split('\r\n').every((l) => l.length <= 78)).toBe(true);
    expect(field.replace(/\r\n/g, '')).toBe(`X-Trace-Context: ${value}`);
  });
});
