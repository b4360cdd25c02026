/**
 * Momentum's IP time-series functions: ec_ip_connections,
 * ec_ip_receptions, ec_ip_rejections and their _cluster forms
 * (sieve-ref-ec-ip-connections.md and siblings), audit_series and
 * audit_series_add (sieve-ref-audit-series*.md). They read the host's
 * CounterStore (counters.ts): in one process the _cluster forms see what
 * the plain ones see; a cluster-wide store makes both cluster-wide.
 *
 * Two forms each: positional (`ec_ip_connections "0" "32"`: monitor index,
 * mask; `audit_series "name" "1800,3" "32"`) and a hash of named arguments
 * (monitor, period_start, period_end, mask; series and count for
 * audit_series*). Momentum smooths the current window with the previous
 * one in the positional form; here the current window is counted as is.
 */
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { type CounterQuery, type Monitor, parseMonitor, SERIES } from '../counters.js';
import { argString, argValue, type SieveFunction } from '../functions.js';
import { contextValue, hostOf, sessionOf } from '../host.js';
import { toStr } from '../values.js';

/** The monitors when the host configures none (Momentum's inbound_audit default is one of 300 seconds x 6). */
export const DEFAULT_MONITORS: readonly string[] = ['300,6'];

function monitorOf(rt: Runtime, b: Bound, fn: string, text: string | undefined, index: number): Monitor {
  const monitors = hostOf(rt).auditMonitors ?? DEFAULT_MONITORS;
  const spec = text ?? monitors[index];
  const m = spec === undefined ? undefined : parseMonitor(spec);
  if (!m) return rt.fail(`${fn}: ${spec === undefined ? `there is no monitor ${index}` : `'${spec}' is not a monitor such as "300,6"`}`, b.node.pos);
  return m;
}

function intOf(rt: Runtime, b: Bound, fn: string, what: string, text: string | undefined, fallback: number): number {
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]+$/.test(text.trim())) return rt.fail(`${fn}: ${what} must be a number, not '${text}'`, b.node.pos);
  return Number(text);
}

/** The query a call describes, in either form; `series` is fixed for ec_ip_*, named for audit_series. */
function query(b: Bound, rt: Runtime, fn: string, series: string | undefined): CounterQuery {
  const first = argValue(b, rt, 0)!;
  const ip = contextValue(sessionOf(rt).connection, 'remote_ip') ?? '';
  const now = rt.now().getTime();
  if (first instanceof Map) {
    const get = (k: string) => (first.has(k) ? toStr(first.get(k)!) : undefined);
    const name = series ?? get('series');
    if (!name) return rt.fail(`${fn}: the hash needs a "series" key`, b.node.pos);
    const start = intOf(rt, b, fn, 'period_start', get('period_start'), 0);
    return {
      series: name,
      monitor: monitorOf(rt, b, fn, get('monitor'), 0),
      ip,
      mask: intOf(rt, b, fn, 'mask', get('mask'), 32),
      periodStart: start,
      periodEnd: Math.max(start, intOf(rt, b, fn, 'period_end', get('period_end'), start)),
      now,
    };
  }
  if (series !== undefined) {
    // ec_ip_* "<monitor index>" ["<mask>"]
    const index = intOf(rt, b, fn, 'the monitor index', toStr(first), 0);
    const mask = intOf(rt, b, fn, 'mask', b.args.length > 1 ? argString(b, rt, 1) : undefined, 32);
    return { series, monitor: monitorOf(rt, b, fn, undefined, index), ip, mask, periodStart: 0, periodEnd: 0, now };
  }
  // audit_series "<series>" "<monitor>" ["<mask>"]
  const mask = intOf(rt, b, fn, 'mask', b.args.length > 2 ? argString(b, rt, 2) : undefined, 32);
  return { series: toStr(first), monitor: monitorOf(rt, b, fn, b.args.length > 1 ? argString(b, rt, 1) : undefined, 0), ip, mask, periodStart: 0, periodEnd: 0, now };
}

function count(b: Bound, rt: Runtime, fn: string, series: string | undefined) {
  const store = hostOf(rt).counters;
  if (!store) return rt.fail(`${fn}: this host keeps no counters`, b.node.pos);
  const q = query(b, rt, fn, series);
  const n = store.count(q);
  return n instanceof Promise ? n.then(String) : String(n);
}

const ipSeries = (name: string, series: string): SieveFunction => ({
  name,
  uses: { value: true },
  params: [
    { name: 'monitor index or hash', type: 'any' },
    { name: 'mask', type: 'any', optional: true },
  ],
  call: (b, rt) => count(b, rt, name, series),
});

const auditSeries: SieveFunction = {
  name: 'audit_series',
  uses: { value: true },
  params: [
    { name: 'series or hash', type: 'any' },
    { name: 'monitor', type: 'string', optional: true },
    { name: 'mask', type: 'any', optional: true },
  ],
  call: (b, rt) => count(b, rt, 'audit_series', undefined),
};

/** `audit_series_add $hash`: counts `count` (default 1) events for the client's address in the named series. */
const auditSeriesAdd: SieveFunction = {
  name: 'audit_series_add',
  uses: { command: true },
  params: [{ name: 'hash', type: 'any' }],
  call(b, rt) {
    const h = argValue(b, rt, 0);
    if (!(h instanceof Map)) return rt.fail('audit_series_add: the argument must be a hash (series, monitor, count)', b.node.pos);
    const series = h.has('series') ? toStr(h.get('series')!) : '';
    if (!series) return rt.fail('audit_series_add: the hash needs a "series" key', b.node.pos);
    const by = intOf(rt, b, 'audit_series_add', 'count', h.has('count') ? toStr(h.get('count')!) : undefined, 1);
    const store = hostOf(rt).counters;
    if (!store) return rt.fail('audit_series_add: this host keeps no counters', b.node.pos);
    const ip = contextValue(sessionOf(rt).connection, 'remote_ip') ?? '';
    const r = store.add(series, ip, by, rt.now().getTime());
    return r instanceof Promise ? r : undefined;
  },
};

export const counterFunctions: SieveFunction[] = [
  ...(['connections', 'receptions', 'rejections'] as const).flatMap((k) => [ipSeries(`ec_ip_${k}`, SERIES[k]), ipSeries(`ec_ip_${k}_cluster`, SERIES[k])]),
  auditSeries,
  auditSeriesAdd,
];
