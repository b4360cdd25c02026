/**
 * The cdb: datasource driver (src/sievepp/datasources/cdb.ts) reading files
 * a real cdb writer made (tinycdb, test/helpers/cdb-file.ts).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openDatasource } from '../../src/sievepp/datasources/index.js';
import type { CdbDatasource } from '../../src/sievepp/datasources/cdb.js';
import { makeCdb, NO_CDB } from '../helpers/cdb-file.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';

const dir = tempDirPerTest('cdb-');
const open = (uri: string, options = {}) => openDatasource(uri, dir(), options) as CdbDatasource;

describe.skipIf(NO_CDB)('the cdb: datasource (skipped: tinycdb is not installed; .ci/run installs it)', () => {
  it('gives each record of a key as a row of one column, value, in the file\'s order, and no row for a key it lacks', async () => {
    makeCdb(join(dir(), 'bl.cdb'), [['example.org', '1'], ['spam.test', 'listed'], ['spam.test', 'twice']]);
    const ds = open('cdb:');
    expect(await ds.query('bl.cdb?example.org', {})).toEqual([{ value: '1' }]);
    expect(await ds.query('bl.cdb?spam.test', {})).toEqual([{ value: 'listed' }, { value: 'twice' }]);
    expect(await ds.query('bl.cdb?spam.test', {}, 1)).toEqual([{ value: 'listed' }]);
    expect(await ds.query('bl.cdb?nowhere.test', {})).toEqual([]);
  });

  it('reads the key from $name parameters, and the uri\'s file when the query names none', async () => {
    makeCdb(join(dir(), 'data.cdb'), [['a@b.test', 'ok']]);
    expect(await open('cdb:data.cdb').query('$who', { who: 'a@b.test' })).toEqual([{ value: 'ok' }]);
    expect(await open('cdb:').query('data.cdb?$who', { who: 'a@b.test' })).toEqual([{ value: 'ok' }]);
    await expect(open('cdb:').query('$who', { who: 'a' })).rejects.toThrow(/names no file/);
    await expect(open('cdb:data.cdb').query('$who', {})).rejects.toThrow(/\$who/);
    await expect(open('cdb:data.cdb').query('k', ['x'])).rejects.toThrow(/\$name/);
  });

  it('reads values as the csv: driver reads a file: UTF-8 when valid, else ISO-8859-1, or assume_charset', async () => {
    makeCdb(join(dir(), 'c.cdb'), [['u', 'Grüße'], ['l', Buffer.from('Gr\xfc\xdfe', 'latin1')]]);
    expect(await open('cdb:c.cdb').query('u', {})).toEqual([{ value: 'Grüße' }]);
    expect(await open('cdb:c.cdb').query('l', {})).toEqual([{ value: 'Grüße' }]);
    expect(await open('cdb:c.cdb', { assumeCharset: 'windows-1252' }).query('l', {})).toEqual([{ value: 'Grüße' }]);
  });

  it('refuses a file that is not a CDB file, naming it', async () => {
    writeFileSync(join(dir(), 'short.cdb'), 'not a cdb');
    await expect(open('cdb:short.cdb').query('k', {})).rejects.toThrow(/short\.cdb: not a CDB file/);
  });

  it('property: every key of any file tinycdb made gives its values in order, and a key not in it none', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 30 })), { maxLength: 60 }), fc.string({ maxLength: 12 }), async (records, other) => {
        const file = join(dir(), `p${n++}.cdb`);
        makeCdb(file, records);
        const ds = open(`cdb:${file}`);
        for (const key of new Set(records.map(([k]) => k))) {
          // A key is the query's text after the file; one holding `?` or `$` is not a key a query can name this way.
          if (/[?$]/.test(key)) continue;
          expect(await ds.query(key, {}, -1)).toEqual(records.filter(([k]) => k === key).map(([, v]) => ({ value: v })));
        }
        if (!records.some(([k]) => k === other) && !/[?$]/.test(other)) expect(await ds.query(other, {})).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });
});
