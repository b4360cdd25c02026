/**
 * Momentum's cidrdb functions (sieve-ref-cidrdb.md): define_cidr loads CIDR
 * blocks from a datasource into a named table, query_cidr gives the value
 * of the block holding the client's address (or :ip), check_cidr whether
 * one holds it, reload_cidr loads a table again. Tables live in the host's
 * CidrTables (cidr.ts), which the configuration can fill too, each with the
 * index a look-up searches (cidr-index.ts), which define_cidr builds in the
 * run's time slices. With `dstype` "rbldnsd" the rows come from an
 * rbldnsd file of IPv4 and IPv6 entries (the host's rbldnsd reader,
 * rbldnsd-files.ts), with the columns `cidr` and `str` and its exceptions.
 */
import type { Bound, MaybePromise } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { type CidrEntry, type CidrTable, CidrTables, parseBlock } from '../cidr.js';
import { buildCidrIndex, STEP } from '../cidr-index.js';
import type { Row } from '../datasource.js';
import { argString, argValue, eachInSlices, type SieveFunction } from '../functions.js';
import { contextValue, hostOf, sessionOf } from '../host.js';
import { toStr } from '../values.js';

interface Definition {
  name: string;
  /** The datasource asked, or undefined for an rbldnsd file (the host's rbldnsd reader). */
  datasource: string | undefined;
  query: string;
  type: 'boolean' | 'value';
  cidrColumn?: string;
  valueColumn?: string;
  defaultValue: string;
  interpolate: boolean;
}

/** What parsing a block costs, in the budget's units (about a character scanned each). */
const BLOCK_UNITS = 1024;

/**
 * A table define_cidr made: its definition, the rows it made it from (weakly: the datasource's cache owns
 * them, and a table must not keep 438,000 rows alive once the cache let them go) and the table.
 */
interface Loaded {
  d: Definition;
  rows: WeakRef<readonly Row[]>;
  table: CidrTable;
}

const DEFINITIONS = new WeakMap<CidrTables, Map<string, Loaded>>();

const sameDefinition = (a: Definition, b: Definition) => JSON.stringify(a) === JSON.stringify(b);

function tables(b: Bound, rt: Runtime, fn: string): CidrTables {
  const t = hostOf(rt).cidr;
  return t ?? rt.fail(`${fn}: this host keeps no CIDR tables`, b.node.pos);
}

function definitionOf(b: Bound, rt: Runtime): Definition {
  const first = argValue(b, rt, 0)!;
  if (first instanceof Map) {
    const get = (k: string) => (first.has(k) ? toStr(first.get(k)!) : undefined);
    const dstype = (get('dstype') ?? 'dslayer').toLowerCase();
    if (dstype !== 'dslayer' && dstype !== 'rbldnsd') rt.fail(`define_cidr: dstype '${dstype}' is neither "dslayer" nor "rbldnsd"`, b.node.pos);
    const rbldnsd = dstype === 'rbldnsd';
    const name = get('cidrname');
    // An rbldnsd file is read by the host; its `cachename` names nothing smtp-cbv needs.
    const datasource = rbldnsd ? undefined : get('cachename');
    const query = get('query');
    if (!name || (!datasource && !rbldnsd) || !query) rt.fail(rbldnsd ? 'define_cidr: the hash needs "cidrname" and "query"' : 'define_cidr: the hash needs "cidrname", "cachename" and "query"', b.node.pos);
    const type = get('type') === 'value' ? 'value' : 'boolean';
    // An rbldnsd file's rows are `cidr` and `str` (the page's example names them so).
    const columns = rbldnsd ? { cidrColumn: get('cidr_column') ?? 'cidr', valueColumn: get('value_column') ?? 'str' } : { cidrColumn: get('cidr_column'), valueColumn: get('value_column') };
    return { name: name!, datasource, query: query!, type, ...columns, defaultValue: get('default_value') ?? '', interpolate: get('interpolate') === 'true' };
  }
  if (b.args.length < 3) rt.fail('define_cidr: give a name, a datasource and a query (or one hash)', b.node.pos);
  return { name: toStr(first), datasource: argString(b, rt, 1)!, query: argString(b, rt, 2)!, type: 'boolean', defaultValue: '', interpolate: false };
}

async function load(b: Bound, rt: Runtime, d: Definition, reload = false): Promise<void> {
  const ds = d.datasource === undefined ? hostOf(rt).rbldnsd : hostOf(rt).datasources?.get(d.datasource);
  if (!ds) return rt.fail(d.datasource === undefined ? 'define_cidr: this host reads no rbldnsd files' : `define_cidr: no datasource named '${d.datasource}'`, b.node.pos);
  const rows = await ds.query(d.query, []);
  const t = tables(b, rt, 'define_cidr');
  let defs = DEFINITIONS.get(t);
  if (!defs) DEFINITIONS.set(t, (defs = new Map()));
  // Scripts define their tables at every run, as sieve-ref-cidrdb.md's example does; Momentum builds the
  // tree once and again at its refresh or reload_cidr. Here the same rows (the datasource's cached result,
  // the same version of a csv: file) keep the table and its index: a table of 438,000 blocks is seconds of
  // parsing and building, and is made again only when the datasource gives other rows.
  const known = defs.get(d.name);
  if (!reload && known && known.rows.deref() === rows && sameDefinition(known.d, d) && t.get(d.name) === known.table) return;
  const entries: CidrEntry[] = [];
  // In slices: a block costs ipaddr.js some 11 us, so a CSV file of 400,000 blocks held the event loop 5 s in one step.
  await eachInSlices(
    rt,
    rows,
    (row) => {
      const cols = Object.values(row);
      const block = parseBlock(d.cidrColumn !== undefined ? (row[d.cidrColumn] ?? '') : (cols[0] ?? ''));
      if (!block) return;
      const value = d.valueColumn !== undefined ? (row[d.valueColumn] ?? '') : (cols[1] ?? '');
      entries.push(row.excluded === 'true' && d.datasource === undefined ? { block, value, excluded: true } : { block, value });
    },
    () => BLOCK_UNITS,
  );
  const table: CidrTable = { type: d.type, entries, defaultValue: d.defaultValue, interpolate: d.interpolate };
  const index = await inSlices(rt, buildCidrIndex(entries));
  t.define(d.name, table, index);
  defs.set(d.name, { d, rows: new WeakRef(rows), table });
}

/**
 * Runs a build that stops every STEP units of work (cidr-index.ts) in the
 * run's time slices, charged to its budget: the index of 438,000 blocks is
 * some 8 million comparisons when they come unsorted.
 */
function inSlices<R>(rt: Runtime, build: Generator<void, R>): MaybePromise<R> {
  const budget = rt.budget;
  for (;;) {
    const r = build.next();
    if (r.done) return r.value;
    budget.charge(STEP);
    if (budget.yieldDue) return budget.pause().then(() => inSlices(rt, build));
  }
}

const defineCidr: SieveFunction = {
  name: 'define_cidr',
  uses: { command: true },
  params: [
    { name: 'name or hash', type: 'any' },
    { name: 'datasource', type: 'string', optional: true },
    { name: 'query', type: 'string', optional: true },
    { name: 'refresh', type: 'any', optional: true },
  ],
  call: (b, rt) => load(b, rt, definitionOf(b, rt)),
};

const reloadCidr: SieveFunction = {
  name: 'reload_cidr',
  uses: { command: true },
  params: [{ name: 'name', type: 'string' }],
  call(b, rt) {
    const known = DEFINITIONS.get(tables(b, rt, 'reload_cidr'))?.get(argString(b, rt, 0)!);
    return known ? load(b, rt, known.d, true) : undefined;
  },
};

function lookup(b: Bound, rt: Runtime, fn: string) {
  const name = argString(b, rt, 0)!;
  const tag = b.tags.get('ip');
  const ip = tag ? rt.string(tag.args[0]!) : (contextValue(sessionOf(rt).connection, 'remote_ip') ?? '');
  const found = tables(b, rt, fn).lookup(name, ip);
  if (!found) return rt.fail(`${fn}: no CIDR table named '${name}'`, b.node.pos);
  return { ...found, ip };
}

const IP_TAG = [{ name: 'ip', args: [{ name: 'IP address', type: 'string' as const }] }];

const queryCidr: SieveFunction = {
  name: 'query_cidr',
  uses: { value: true },
  tags: IP_TAG,
  params: [{ name: 'name', type: 'string' }],
  call(b, rt) {
    const { table, entry, ip } = lookup(b, rt, 'query_cidr');
    if (table.type === 'boolean') return entry ? 'true' : 'false';
    const value = entry ? entry.value : table.defaultValue;
    return table.interpolate ? value.replaceAll('$', ip) : value;
  },
};

const checkCidr: SieveFunction = {
  name: 'check_cidr',
  uses: { test: true },
  tags: IP_TAG,
  params: [
    { name: 'name', type: 'string' },
    { name: 'unused', type: 'string', optional: true },
  ],
  call(b, rt) {
    const { table, entry } = lookup(b, rt, 'check_cidr');
    // sieve-ref-cidrdb.md: a "value" table always answers false.
    return table.type === 'boolean' && entry !== null;
  },
};

export const cidrFunctions: SieveFunction[] = [defineCidr, reloadCidr, queryCidr, checkCidr];
