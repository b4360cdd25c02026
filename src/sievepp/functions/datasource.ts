/**
 * Momentum's datasource functions (sieve-ref-ds-fetch.md, -ds-fetch-hash,
 * -ds-fetch-flat, -ds-execute): a query against a configured datasource
 * (MomentumHost.datasources), with `?` parameters from a list or `:name`
 * parameters from a hash. A failed query is not a runtime error: as in
 * Momentum, the connection context variable `datasource_error` holds the
 * message and the result is empty; a successful query deletes it.
 */
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { type QueryParams, type Row, VALUES } from '../datasource.js';
import { argString, argValue, eachInSlices, type SieveFunction } from '../functions.js';
import { hostOf, sessionOf } from '../host.js';
import { type SieveValue, toList, toStr } from '../values.js';

function paramsOf(b: Bound, rt: Runtime): QueryParams {
  const v = b.args.length > 2 ? argValue(b, rt, 2)! : [];
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, toStr(x)]));
  return toList(v);
}

async function run(b: Bound, rt: Runtime, fn: string, limit: number | undefined): Promise<Row[]> {
  const name = argString(b, rt, 0)!;
  const ds = hostOf(rt).datasources?.get(name);
  const connection = sessionOf(rt).connection;
  if (!ds) {
    connection.set('datasource_error', `no datasource named '${name}'`);
    rt.warn(`${fn}: no datasource named '${name}' is configured`, b.node.pos);
    return [];
  }
  try {
    const rows = await ds.query(argString(b, rt, 1)!, paramsOf(b, rt), limit);
    connection.delete('datasource_error');
    return rows;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    connection.set('datasource_error', message);
    rt.warn(`${fn}: datasource '${name}': ${message}`, b.node.pos);
    return [];
  }
}

const PARAMS = [
  { name: 'datasource', type: 'string' as const },
  { name: 'query', type: 'string' as const },
  { name: 'parameters', type: 'any' as const, optional: true },
];

/** The first row's values, in column order, as a list: a column of several values by its first (sieve-ref-ds-fetch.md sends those to ds_fetch_hash). */
const dsFetch: SieveFunction = {
  name: 'ds_fetch',
  uses: { value: true, test: true },
  params: PARAMS,
  call: async (b, rt) => Object.values((await run(b, rt, 'ds_fetch', 1))[0] ?? {}),
};

/**
 * The first row as a hash of column names to values; a column of several
 * values (an LDAP attribute's) as a stringlist of them in the datasource's
 * order (sieve-ref-ds-fetch-hash.md), a column of one as a string.
 */
const dsFetchHash: SieveFunction = {
  name: 'ds_fetch_hash',
  uses: { value: true, test: true },
  params: PARAMS,
  call: async (b, rt) => {
    const row = (await run(b, rt, 'ds_fetch_hash', 1))[0] ?? {};
    const several = row[VALUES];
    return new Map<string, SieveValue>(Object.entries(row).map(([k, v]) => [k, several?.[k] && several[k].length > 1 ? [...several[k]] : v]));
  },
};

/** What a row costs to copy into a list (sizeOf's measure: 16 a value and its characters). */
function rowChars(row: Row): number {
  let n = 0;
  for (const k in row) n += 16 + row[k]!.length;
  return n;
}

/** Every row's values, one flat list (row by row, column by column; a column of several values by its first, as ds_fetch gives it). */
const dsFetchFlat: SieveFunction = {
  name: 'ds_fetch_flat',
  uses: { value: true, test: true },
  params: PARAMS,
  // Made in slices: with max_rows = -1, as Momentum's CSV examples have it, a file of 400,000 rows gave
  // 800,000 values in one step (150 ms).
  call: async (b, rt) => {
    const values: string[] = [];
    await eachInSlices(rt, await run(b, rt, 'ds_fetch_flat', undefined), (row) => values.push(...Object.values(row)), rowChars);
    return values;
  },
};

/** A statement that returns nothing (insert, update, delete). */
const dsExecute: SieveFunction = {
  name: 'ds_execute',
  uses: { command: true },
  params: PARAMS,
  call: async (b, rt) => void (await run(b, rt, 'ds_execute', 0)),
};

export const datasourceFunctions: SieveFunction[] = [dsFetch, dsFetchHash, dsFetchFlat, dsExecute];
