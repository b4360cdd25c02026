/**
 * ec_trace_context (sieve-ref-ec-trace-context.md): an X-Trace-Context
 * header field, added when the message is spooled as ec_header_add's are,
 * holding a copy of the connection and message contexts, for debugging a
 * policy on the mail it lets through: `connection: name="value", ...;
 * message: ...`, each value quoted (RFC 5322 3.2.4) with its line breaks
 * made spaces. The server encodes and folds it as any added field
 * (src/session/header-edits.ts). A copy is capped, so that a context
 * holding a large value cannot make a header section that mail servers
 * refuse: a value at MAX_VALUE characters, the field at MAX_FIELD, each
 * cut marked.
 */
import { headerAddAction } from '../builtin-functions.js';
import { quotedString } from '../../sieve/runtime/address.js';
import type { SieveFunction } from '../functions.js';
import { sessionOf } from '../host.js';

const MAX_VALUE = 1000;
const MAX_FIELD = 16_384;

const quoted = (v: string) => quotedString((v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE)}...` : v).replace(/[\r\n]+/g, ' '));
const pairs = (m: Map<string, string>) => [...m].map(([k, v]) => `${k}=${quoted(v)}`).join(', ');

/** The field's value: both contexts, cut at MAX_FIELD characters. */
export function traceContextValue(connection: Map<string, string>, message: Map<string, string>): string {
  const value = `connection: ${pairs(connection)}; message: ${pairs(message)}`;
  return value.length > MAX_FIELD ? `${value.slice(0, MAX_FIELD)}... (${value.length - MAX_FIELD} characters more)` : value;
}

const traceContext: SieveFunction = {
  name: 'ec_trace_context',
  uses: { command: true },
  params: [],
  call(b, rt) {
    const s = sessionOf(rt);
    rt.take(b, headerAddAction, { data: { name: 'X-Trace-Context', value: traceContextValue(s.connection, s.message) } });
  },
};

export const traceContextFunctions: SieveFunction[] = [traceContext];
