/**
 * Momentum's documented LDAP and CDB datasource examples
 * (3-reference-modules-ds-core.md) and the rbldnsd one of define_cidr
 * (sieve-ref-cidrdb.md), read from ../shared/momentum-docs/scripts,
 * never copied here, run as printed: the LDAP ones against a real slapd
 * holding the directory they search (an Active Directory's attributes, a
 * schema of our own for the few the examples' filter names,
 * DC=subdomain,DC=example,DC=com, and the account they bind as,
 * CN=user,OU=unit with the password "password"), the CDB one against a
 * file tinycdb made, the rbldnsd one against a zone file in rbldnsd's
 * ip4set format. scripts/momentum-compat.ts counts these tests in the
 * compatibility share.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productFunctions } from '../../src/policy/functions.js';
import { CachedDatasource, DEFAULT_CACHE } from '../../src/sievepp/datasource.js';
import { openDatasource } from '../../src/sievepp/datasources/index.js';
import type { Datasource } from '../../src/sievepp/datasource.js';
import { makeCdb, NO_CDB } from '../helpers/cdb-file.js';
import { NO_SLAPD, startSlapd, type TestSlapd } from '../helpers/slapd.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';
import { writeFileSync } from 'node:fs';
import { CidrTables } from '../../src/sievepp/cidr.js';
import { RbldnsdFiles } from '../../src/sievepp/rbldnsd-files.js';
import { runPP } from './helpers.js';
import { valueOf } from './helpers.js';

const DOCS = path.resolve('../shared/momentum-docs/scripts');
const doc = (file: string) => readFileSync(path.join(DOCS, file), 'utf8');

/** The Exchange attributes the examples' filter tests, on an auxiliary class (OIDs of OpenLDAP's experimental arc). */
const SCHEMA = [
  ['1', 'mailNickname'],
  ['2', 'objectCategory'],
  ['3', 'proxyAddresses'],
  ['4', 'homeMDB'],
  ['5', 'msExchHomeServerName'],
]
  .map(([n, name]) => `attributetype ( 1.3.6.1.4.1.4203.666.77.1.${n} NAME '${name}' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )`)
  .concat("objectclass ( 1.3.6.1.4.1.4203.666.77.2.1 NAME 'user' SUP top AUXILIARY MAY ( mailNickname $ objectCategory $ proxyAddresses $ homeMDB $ msExchHomeServerName ) )")
  .join('\n');

const AD = 'DC=subdomain,DC=example,DC=com';
const DIRECTORY = `dn: ${AD}
objectClass: dcObject
objectClass: organization
o: Subdomain
dc: subdomain

dn: CN=Alice Example,${AD}
objectClass: inetOrgPerson
objectClass: user
cn: Alice Example
sn: Example
displayName: Alice E.
mail: alice@example.org
mailNickname: alice
objectCategory: person
proxyAddresses: SMTP:alice@example.org
proxyAddresses: SMTP:joe@example.com
`;
const ACCOUNT = `dn: OU=unit
objectClass: organizationalUnit
ou: unit

dn: CN=user,OU=unit
objectClass: person
cn: user
sn: user
userPassword: password
`;

describe.skipIf(!existsSync(DOCS) || NO_SLAPD)("Momentum's documented LDAP examples (skipped: ../shared/momentum-docs is not beside the clone, or slapd is not installed)", () => {
  let slapd: TestSlapd;
  let host: { datasources: Map<string, CachedDatasource> };
  beforeAll(async () => {
    slapd = await startSlapd('', { schema: SCHEMA, databases: [{ suffix: AD, ldif: DIRECTORY }, { suffix: 'OU=unit', ldif: ACCOUNT }] });
    // The page's Datasource "mydirectory" { uri = ( "ldap://10.80.116.112" ) }, on loopback.
    host = { datasources: new Map([['mydirectory', new CachedDatasource(openDatasource(slapd.url, '.') as never, DEFAULT_CACHE)]]) };
  });
  afterAll(async () => {
    for (const d of host?.datasources.values() ?? []) d.close?.();
    await slapd?.stop();
  });
  const options = (mess: Record<string, string> = {}) => ({ compile: { functions: productFunctions() }, host, messageContext: new Map(Object.entries(mess)) });

  it('154: ds_fetch_hash binds as CN=user,OU=unit and finds the recipient by its proxyAddresses, giving cn, mail and displayName', async () => {
    const results = await valueOf(doc('154-mod-ds-core-ldap.siv'), 'results', options({ rcptto_localpart: 'alice', rcptto_domain: 'example.org' }));
    expect(results).toEqual(new Map([['cn', 'Alice Example'], ['mail', 'alice@example.org'], ['displayName', 'Alice E.']]));
  });

  it('155: the same search with $name parameters from a hash: the sender, the bind DN and its password', async () => {
    const results = await valueOf(doc('155-mod-ds-core-ldap-params.siv'), 'results', options());
    expect(results).toEqual(new Map([['cn', 'Alice Example'], ['mail', 'alice@example.org'], ['displayName', 'Alice E.']]));
  });
});

describe.skipIf(!existsSync(DOCS) || NO_CDB)("Momentum's documented CDB example (skipped: ../shared/momentum-docs is not beside the clone, or tinycdb is not installed)", () => {
  const dir = tempDirPerTest('docs-cdb-');
  const PAGE_DIR = '/opt/msys/ecelerity/etc/';

  it('156: ds_fetch looks the recipient\'s domain up in bl.cdb, named in the query, with a $name parameter', async () => {
    makeCdb(path.join(dir(), 'bl.cdb'), [['example.org', 'blocked'], ['example.net', 'ok']]);
    const cdb = openDatasource('cdb:', dir()) as Datasource;
    // The page's file is under /opt/msys/ecelerity/etc/: the query reaches the driver with that directory read as the test's own.
    const here: Datasource = { query: (q, p, l) => cdb.query(q.startsWith(PAGE_DIR) ? path.join(dir(), q.slice(PAGE_DIR.length)) : q, p, l), reads: () => true };
    const host = { datasources: new Map([['cdb', new CachedDatasource(here, DEFAULT_CACHE)]]) };
    // The test message is to alice@example.org.
    expect(await valueOf(doc('156-mod-ds-core-cdb.siv'), 'result', { compile: { functions: productFunctions() }, host })).toEqual(['blocked']);
    expect(await valueOf(doc('156-mod-ds-core-cdb.siv'), 'result', { compile: { functions: productFunctions() }, host, envelope: { to: ['bob@example.net'] } })).toEqual(['ok']);
  });
});

describe.skipIf(!existsSync(DOCS))("Momentum's documented rbldnsd example (skipped: ../shared/momentum-docs is not beside the clone)", () => {
  const dir = tempDirPerTest('docs-rbldnsd-');
  const PAGE_DIR = '/path/to/';

  it('040: define_cidr reads my.rbldnsd with want=txt, and query_cidr gives the TXT of the client\'s address, the address in place of $', async () => {
    writeFileSync(path.join(dir(), 'my.rbldnsd'), ':127.0.0.2:Listed in myrbldnsd: $\n192.0.2.0/24\n!192.0.2.99\n');
    const files = new RbldnsdFiles(dir());
    // The page's file is /path/to/my.rbldnsd: the query reaches the reader with that directory read as the test's own.
    const rbldnsd: Datasource = { query: (q) => files.query(q.startsWith(PAGE_DIR) ? q.slice(PAGE_DIR.length) : q), reads: () => true };
    const run = (ip: string) => runPP(doc('040-cidrdb-rbldnsd.siv'), { compile: { functions: productFunctions() }, host: { cidr: new CidrTables(), rbldnsd }, connection: new Map([['remote_ip', ip]]) });
    const listed = await run('192.0.2.7');
    expect(listed.errors).toEqual([]);
    expect(listed.runtime.log).toEqual(['Query result:Listed in myrbldnsd: 192.0.2.7']);
    expect((await run('192.0.2.99')).runtime.log).toEqual(['Query result:']);
  });
});
