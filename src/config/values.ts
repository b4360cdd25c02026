/**
 * Option value types: each turns a parsed value into a typed one, or into
 * positioned errors that name what was expected. The schema (schema.ts) pairs
 * every option with one of these.
 */
import path from 'node:path';
import ipaddr from 'ipaddr.js';
import type { ConfScalar, ConfValue } from '../../grammars/ecconf.js';
import type { Position } from '../diagnostics.js';
import { charsetName } from '../sieve/runtime/charset.js';

export interface ValueProblem {
  message: string;
  pos: Position;
}
export type Parsed<T> = { ok: true; value: T } | { ok: false, problems: ValueProblem[] };

/** What a value type needs besides the value: paths resolve against the directory of the file they are written in. */
export interface ValueContext {
  dir: string;
}

export interface ValueType<T> {
  /** How docs/configuration.md names the type. */
  label: string;
  parse(value: ConfValue, ctx: ValueContext): Parsed<T>;
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const fail = <T>(message: string, pos: Position): Parsed<T> => ({ ok: false, problems: [{ message, pos }] });

function shape(v: ConfValue): string {
  return v.kind === 'list' ? 'a list' : v.kind === 'array' ? 'an array' : `'${v.text}'`;
}

/** A type that takes a single scalar; lists and arrays are refused with the expectation named. */
function scalarType<T>(label: string, expected: string, convert: (s: ConfScalar, ctx: ValueContext) => T | undefined): ValueType<T> {
  return {
    label,
    parse(v, ctx) {
      if (v.kind !== 'scalar') return fail(`expected ${expected}, not ${shape(v)}`, v.pos);
      const out = convert(v, ctx);
      return out === undefined ? fail(`expected ${expected}, found ${shape(v)}`, v.pos) : ok(out);
    },
  };
}

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);
export const boolean = scalarType('boolean', 'a boolean (true or false)', (s) => {
  const t = s.text.toLowerCase();
  return TRUE.has(t) ? true : FALSE.has(t) ? false : undefined;
});

export function integer(min: number, max: number): ValueType<number> {
  return scalarType(`integer (${min}-${max})`, `an integer from ${min} to ${max}`, (s) => {
    if (!/^-?\d+$/.test(s.text)) return undefined;
    const n = Number(s.text);
    return n >= min && n <= max ? n : undefined;
  });
}

/** Seconds as written, milliseconds in the model (what timers take). */
export function seconds(positive: boolean): ValueType<number> {
  return scalarType(positive ? 'seconds (> 0)' : 'seconds', positive ? 'a positive number of seconds' : 'a number of seconds', (s) => {
    if (!/^\d+(\.\d+)?$/.test(s.text)) return undefined;
    const ms = Math.round(Number(s.text) * 1000);
    // A year bounds every duration here: beyond that a typo is likelier than intent, and timers overflow at 2^31 ms.
    return (positive ? ms >= 1 : ms >= 0) && ms <= 31_536_000_000 ? ms : undefined;
  });
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
/** Bytes, with an optional k/m/g suffix (binary multiples). */
export const size = scalarType('bytes (k, m, g suffixes)', 'a size in bytes such as 10485760 or 10m', (s) => {
  const m = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(s.text);
  if (!m) return undefined;
  const n = Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] ?? 1);
  return Number.isSafeInteger(n) ? n : undefined;
});

export const string = scalarType('string', 'a single value', (s) => s.text);

export function oneOf<const T extends string>(values: readonly T[]): ValueType<T> {
  return scalarType(
    `one of ${values.join(', ')}`,
    `one of ${values.join(', ')}`,
    (s) => values.find((x) => x === s.text.toLowerCase()),
  );
}

/**
 * A character set name that the WHATWG Encoding Standard knows (Node's
 * TextDecoder, with its full ICU): "iso-8859-1", "iso-2022-jp", "utf-8",
 * "windows-1252"... (iso-8859-1 is read as windows-1252, src/sieve/runtime/charset.ts).
 */
export const charset = scalarType('charset', 'a character set name such as iso-8859-1 or iso-2022-jp', (s) => charsetName(s.text));

/** A file permission mode as chmod writes it, in octal digits (`775`, `0640`): Momentum's maildir `dirmode` and `filemode`. */
export const octalMode = scalarType('octal mode', 'a permission mode in octal, such as 750', (s) => (/^0?[0-7]{3}$/.test(s.text) ? Number.parseInt(s.text, 8) : undefined));

export const filePath = scalarType('path', 'a path', (s, ctx) => (s.text === '' ? undefined : path.resolve(ctx.dir, s.text)));

/** `10.0.0.0/8`, or an address alone for a single host; normalised to `address/prefix`. */
export const cidr = scalarType('CIDR range', 'a CIDR range such as 10.0.0.0/8', (s) => parseCidr(s.text));

export function parseCidr(text: string): string | undefined {
  const [address = '', bits, ...rest] = text.split('/');
  // ipaddr.js also takes `10.0.0/8` and `0x7f.1`; configuration wants the forms people read.
  if (rest.length || !(ipaddr.IPv4.isValidFourPartDecimal(address) || ipaddr.IPv6.isValid(address))) return undefined;
  try {
    if (bits !== undefined) {
      const [addr, prefix] = ipaddr.parseCIDR(text);
      return `${addr.toString()}/${prefix}`;
    }
    const addr = ipaddr.parse(address);
    return `${addr.toString()}/${addr.kind() === 'ipv4' ? 32 : 128}`;
  } catch {
    return undefined;
  }
}

/** An IPv4 (dotted quad) or IPv6 address, normalised. */
export const ipAddress = scalarType('IP address', 'an IP address such as 192.0.2.1', (s) =>
  ipaddr.IPv4.isValidFourPartDecimal(s.text) || ipaddr.IPv6.isValid(s.text) ? ipaddr.parse(s.text).toString() : undefined,
);

export interface HostPort {
  host: string;
  port: number;
}

/**
 * `127.0.0.1:25`, `[::1]:25`, or `:25` (every address, as in Momentum's
 * `Listen ":25"`). The host must be an IP address: a name would need DNS at
 * start-up, and these are listen and resolver addresses.
 */
export function parseHostPort(text: string, defaultPort?: number): HostPort | undefined {
  // A bare IPv6 address has colons of its own: it can only stand without a port.
  if (defaultPort !== undefined && !text.startsWith('[') && ipaddr.IPv6.isValid(text)) return { host: ipaddr.parse(text).toString(), port: defaultPort };
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*))(?::(\d{1,5}))?$/.exec(text);
  if (!m) return undefined;
  // Momentum's `Listen "*:25"` and `"[*]:25"`: every IPv4, every IPv6 address.
  if (m[2] === '*' || m[1] === '*') return parseHostPort(`${m[1] === '*' ? '[::]' : ''}${m[3] === undefined ? '' : `:${m[3]}`}`, defaultPort);
  const host = m[1] ?? m[2] ?? '';
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (port === undefined || port < 1 || port > 65535) return undefined;
  if (host === '') return m[1] === undefined ? { host: '0.0.0.0', port } : undefined;
  if (m[1] !== undefined && !ipaddr.IPv6.isValid(host)) return undefined;
  if (m[2] !== undefined && !ipaddr.IPv4.isValidFourPartDecimal(host)) return undefined;
  return { host: ipaddr.parse(host).toString(), port };
}

export function hostPort(defaultPort?: number): ValueType<HostPort> {
  const example = defaultPort === undefined ? '127.0.0.1:2525' : `127.0.0.1 or 127.0.0.1:${defaultPort}`;
  return scalarType('host:port', `an IP address and port such as ${example}`, (s) => parseHostPort(s.text, defaultPort));
}

export function url(protocols: readonly string[]): ValueType<string> {
  return scalarType('URL', `a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`, (s) => {
    try {
      return protocols.includes(new URL(s.text).protocol) ? s.text : undefined;
    } catch {
      return undefined;
    }
  });
}

/** A list `( a b c )`; a single scalar counts as a list of one, as Momentum allows. */
export function listOf<T>(item: ValueType<T>): ValueType<T[]> {
  return {
    label: `list of ${item.label}`,
    parse(v, ctx) {
      if (v.kind === 'array') return fail(`expected a list ( ... ) of ${item.label}, not an array`, v.pos);
      const items = v.kind === 'list' ? v.items : [v];
      const out: T[] = [];
      const problems: ValueProblem[] = [];
      for (const i of items) {
        const r = item.parse(i, ctx);
        if (r.ok) out.push(r.value);
        else problems.push(...r.problems);
      }
      return problems.length ? { ok: false, problems } : ok(out);
    },
  };
}

/** An array `[ key = value ... ]`; keys compare case-insensitively when `foldKeys`, and may appear once. */
export function arrayOf<T>(item: ValueType<T>, foldKeys: boolean): ValueType<Record<string, T>> {
  return {
    label: `array of key = ${item.label}`,
    parse(v, ctx) {
      if (v.kind !== 'array') return fail(`expected an array [ key = value ... ], not ${shape(v)}`, v.pos);
      const out: Record<string, T> = Object.create(null) as Record<string, T>;
      const problems: ValueProblem[] = [];
      for (const e of v.entries) {
        const key = foldKeys ? e.key.toLowerCase() : e.key;
        if (key in out) {
          problems.push({ message: `duplicate key '${e.key}' in array`, pos: e.keyPos });
          continue;
        }
        const r = item.parse(e.value, ctx);
        if (r.ok) out[key] = r.value;
        else problems.push(...r.problems);
      }
      return problems.length ? { ok: false, problems } : ok(out);
    },
  };
}
