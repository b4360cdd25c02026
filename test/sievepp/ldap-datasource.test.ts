/**
 * The ldap: datasource driver (src/sievepp/datasources/ldap.ts) against a
 * real OpenLDAP server on loopback (test/helpers/slapd.ts), and its LDAP
 * URL reader (ldap-url.ts) on its own, property tests included.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedDatasource, DEFAULT_CACHE, VALUES } from '../../src/sievepp/datasource.js';
import { openDatasource } from '../../src/sievepp/datasources/index.js';
import type { LdapDatasource } from '../../src/sievepp/datasources/ldap.js';
import { bindLdapParams, escapeFilterValue, LdapUrlError, mergeLdapUrls, parseLdapUrl } from '../../src/sievepp/datasources/ldap-url.js';
import { productFunctions } from '../../src/policy/functions.js';
import { ADMIN, ADMIN_PASSWORD, NO_SLAPD, startSlapd, SUFFIX, type TestSlapd } from '../helpers/slapd.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPP, valueOf } from './helpers.js';

const PEOPLE = `ou=people,${SUFFIX}`;
const LDIF = `dn: ${PEOPLE}
objectClass: organizationalUnit
ou: people

dn: uid=bob,${PEOPLE}
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder
mail: bob@here.test
mail: robert@here.test

dn: uid=carol,${PEOPLE}
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: Singer
mail: carol@here.test
`;

describe('LDAP URLs (RFC 4516)', () => {
  it('reads every part, percent-decoded, and leaves out the parts not written', () => {
    const u = parseLdapUrl('ldap://ldap.example.test:3389/ou=people,dc=example,dc=test?mail,cn?sub?(uid=%24user)?bindname=cn=x%2cdc=y,!x-bindpw=p%3Fw');
    expect(u).toMatchObject({ secure: false, host: 'ldap.example.test', port: 3389, dn: 'ou=people,dc=example,dc=test', attributes: ['mail', 'cn'], scope: 'sub', filter: '(uid=$user)' });
    expect(Object.fromEntries(u.extensions)).toEqual({ bindname: { value: 'cn=x,dc=y', critical: false }, 'x-bindpw': { value: 'p?w', critical: true } });
    const empty = parseLdapUrl('ldap:///????bindname=cn=a');
    expect([empty.host, empty.port, empty.dn, empty.attributes, empty.scope, empty.filter]).toEqual([undefined, undefined, undefined, undefined, undefined, undefined]);
    expect(parseLdapUrl('ldaps://[::1]')).toMatchObject({ secure: true, host: '::1' });
  });

  it('takes the parts a query leaves out from the uri, then RFC 4516\'s defaults', () => {
    const search = mergeLdapUrls(parseLdapUrl(`ldap://10.0.0.1/${PEOPLE}??sub?(objectClass=person)?x-search-timeout=2`), parseLdapUrl('ldap:///?mail??(uid=bob)'));
    expect(search).toMatchObject({ secure: false, host: '10.0.0.1', port: 389, base: PEOPLE, attributes: ['mail'], scope: 'sub', filter: '(uid=bob)' });
    expect(search.extensions.get('x-search-timeout')?.value).toBe('2');
    expect(mergeLdapUrls(parseLdapUrl('ldaps://h'), parseLdapUrl('ldap:///'))).toMatchObject({ secure: true, port: 636, base: '', scope: 'base', filter: '(objectClass=*)', attributes: [] });
  });

  it('refuses what is not an LDAP URL, with what was expected', () => {
    expect(() => parseLdapUrl('http://x/')).toThrow(/RFC 4516/);
    expect(() => parseLdapUrl('ldap:/x/??sub??x-bindpw=secret,bindname=cn=a')).toThrow(/x-bindpw=\.\.\.,bindname=cn=a$/);
    expect(() => parseLdapUrl('ldap://x/dc=a??everywhere')).toThrow(/base, one or sub/);
    expect(() => parseLdapUrl('ldap://x:99999')).toThrow(/1 to 65535/);
    expect(() => parseLdapUrl('ldap://x/%zz')).toThrow(LdapUrlError);
  });

  it('puts $name values in the filter escaped by RFC 4515, elsewhere as they are (a whole DN, as Momentum\'s example binds), and refuses a name it is not given', () => {
    const search = mergeLdapUrls(parseLdapUrl('ldap://h'), parseLdapUrl('ldap:///ou=$ou,dc=t?mail?sub?(uid=$user)?bindname=$username,x-bindpw=$pw'));
    const bound = bindLdapParams(search, { user: 'a*)(uid=*', ou: 'x', username: 'CN=user,OU=unit', pw: 'p?,w' });
    expect(bound.filter).toBe('(uid=a\\2a\\29\\28uid=\\2a)');
    expect(bound.base).toBe('ou=x,dc=t');
    expect(bound.extensions.get('bindname')?.value).toBe('CN=user,OU=unit');
    expect(bound.extensions.get('x-bindpw')?.value).toBe('p?,w');
    expect(() => bindLdapParams(search, { user: 'a', username: 'u', pw: 'p' })).toThrow(/\$ou/);
  });

  it('reads a query written over several lines of a script, as Momentum\'s examples are', () => {
    const u = parseLdapUrl('ldap:///DC=example,DC=com?cn,mail?sub?\n  (&(objectClass=user)\n  (mail=$rcpt))\n  ?bindname=CN=user%2cOU=unit,x-bindpw=password');
    expect(u).toMatchObject({ dn: 'DC=example,DC=com', attributes: ['cn', 'mail'], scope: 'sub', filter: '(&(objectClass=user)(mail=$rcpt))' });
    // White space between a filter's parts, as libldap reads it (and the page writes it).
    expect(parseLdapUrl('ldap:///??sub?(&(objectCategory=person) (objectClass=contact))').filter).toBe('(&(objectCategory=person)(objectClass=contact))');
    expect(u.extensions.get('bindname')?.value).toBe('CN=user,OU=unit');
  });

  it('property: any text a parameter carries stays one value in the filter: no special character of RFC 4515 is left bare', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (v) => {
        expect(escapeFilterValue(v)).not.toMatch(/[*()\0]/);
        expect(escapeFilterValue(v).replace(/\\[0-9a-f]{2}/g, '')).not.toContain('\\');
      }),
      { numRuns: 1000 },
    );
  });

  it('property: any string either reads as an LDAP URL or is refused with an LdapUrlError, never another error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), fc.string({ maxLength: 60 }).map((s) => `ldap://${s}`)), (s) => {
        try {
          parseLdapUrl(s);
        } catch (e) {
          expect(e).toBeInstanceOf(LdapUrlError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe.skipIf(NO_SLAPD)('the ldap: datasource against slapd (skipped: slapd is not installed; .ci/run installs it)', () => {
  let slapd: TestSlapd;
  let ds: LdapDatasource;
  beforeAll(async () => {
    slapd = await startSlapd(LDIF);
    ds = openDatasource(`${slapd.url}/${PEOPLE}??sub`, '.') as LdapDatasource;
  });
  afterAll(async () => {
    ds?.close();
    await slapd?.stop();
  });

  it('finds an entry by a $name parameter: its attributes as the query names them, the first of several values, and all of them under VALUES', async () => {
    const [bob] = await ds.query('ldap:///?mail,CN??(uid=$user)', { user: 'bob' });
    expect(bob).toEqual({ mail: 'bob@here.test', CN: 'Bob', [VALUES]: { mail: ['bob@here.test', 'robert@here.test'] } });
    expect(Object.values(bob!)).toEqual(['bob@here.test', 'Bob']);
    expect(await ds.query('ldap:///?mail,CN??(uid=$user)', { user: 'carol' })).toEqual([{ mail: 'carol@here.test', CN: 'Carol' }]);
    expect(await ds.query('ldap:///?mail??(uid=$user)', { user: 'nobody' })).toEqual([]);
  });

  it('a parameter cannot widen the filter: a * in it is a character, not a wildcard', async () => {
    expect(await ds.query('ldap:///?uid??(uid=$user)', { user: '*' })).toEqual([]);
    expect((await ds.query('ldap:///?uid??(uid=*)', {})).map((r) => r.uid).sort()).toEqual(['bob', 'carol']);
  });

  it('stops at the limit, names the DN with x-return-dn, and binds with bindname and x-bindpw', async () => {
    expect(await ds.query('ldap:///?uid??(uid=*)', {}, 1)).toHaveLength(1);
    expect(await ds.query('ldap:///?cn??(uid=carol)?x-return-dn=dn', {})).toEqual([{ cn: 'Carol', dn: `uid=carol,${PEOPLE}` }]);
    const bound = `ldap:///?sn??(uid=$user)?bindname=${encodeURIComponent(ADMIN)},x-bindpw=$pw`;
    expect(await ds.query(bound, { user: 'bob', pw: ADMIN_PASSWORD })).toEqual([{ sn: 'Builder' }]);
    await expect(ds.query(bound, { user: 'bob', pw: 'wrong' })).rejects.toThrow(/^LDAP 127\.0\.0\.1:\d+: InvalidCredentialsError/);
  });

  it('refuses ? parameters and an unknown critical extension, and reports a server that is not there', async () => {
    await expect(ds.query('ldap:///?mail??(uid=bob)', ['bob'])).rejects.toThrow(/\$name/);
    await expect(ds.query('ldap:///?mail??(uid=bob)?!x-unknown=1', {})).rejects.toThrow(/critical extension x-unknown/);
    const gone = openDatasource('ldap://127.0.0.1:1/??sub', '.') as LdapDatasource;
    await expect(gone.query('ldap:///?mail??(uid=bob)?x-connect-timeout=2', {})).rejects.toThrow();
    gone.close();
  });

  it("serves ds_fetch in a Sieve++ script, through Momentum's result cache", async () => {
    const cached = new CachedDatasource(ds, DEFAULT_CACHE);
    // $user in the query is the hash's value, not a Sieve variable (sieve-ref-ds-fetch.md).
    const script = '$p = hash_create; hash_set $p "user" "bob"; $row = ds_fetch "directory" "ldap:///?mail,cn??\n  (uid=$user)" $p;';
    const options = { compile: { functions: productFunctions() }, host: { datasources: new Map([['directory', cached]]) } };
    expect(await valueOf(script, 'row', options)).toEqual(['bob@here.test', 'Bob']);
    expect(await valueOf(script, 'row', options)).toEqual(['bob@here.test', 'Bob']);
    expect(cached.stats).toEqual({ hits: 1, misses: 1 });
  });

  it('gives an attribute of several values to ds_fetch_hash as a stringlist in the server\'s order, one value as a string, and its first to ds_fetch and ds_fetch_flat', async () => {
    const options = { compile: { functions: productFunctions() }, host: { datasources: new Map([['directory', new CachedDatasource(ds, DEFAULT_CACHE)]]) } };
    const q = '"ldap:///?cn,mail??(uid=bob)"';
    expect(await valueOf(`$r = ds_fetch_hash "directory" ${q};`, 'r', options)).toEqual(new Map<string, unknown>([['cn', 'Bob'], ['mail', ['bob@here.test', 'robert@here.test']]]));
    // A list to the script: its values one by one.
    expect(await valueOf(`$r = ds_fetch_hash "directory" ${q}; $second = $r["mail"][1];`, 'second', options)).toBe('robert@here.test');
    expect(await valueOf(`$r = ds_fetch "directory" ${q};`, 'r', options)).toEqual(['Bob', 'bob@here.test']);
    expect(await valueOf('$r = ds_fetch_flat "directory" "ldap:///?mail??(mail=*)";', 'r', options)).toEqual(['bob@here.test', 'carol@here.test']);
  });

  it("docs/sieve-reference.md's recipient check: a known recipient passes, an unknown one gets 550, a directory that does not answer 451", async () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/sieve-reference.md'), 'utf8');
    const recipe = [...doc.matchAll(/```sieve\n([\s\S]*?)```/g)].map((m) => m[1]!).find((e) => e.includes('datasource_error'))!;
    const outcome = async (directory: string, rcptto: string) => {
      const r = await runPP(recipe, {
        compile: { functions: productFunctions() },
        host: { datasources: new Map([['directory', new CachedDatasource(openDatasource(directory, '.') as never, DEFAULT_CACHE)]]) },
        messageContext: new Map([['rcptto', rcptto]]),
      });
      expect(r.errors).toEqual([]);
      return r.actions.map((a) => a.def.describe(a));
    };
    const here = `${slapd.url}/${PEOPLE}??sub`;
    expect(await outcome(here, 'carol@here.test')).toEqual([]);
    expect(await outcome(here, 'robert@here.test')).toEqual([]);
    expect(await outcome(here, 'nobody@here.test')).toEqual(['ec_action 550 "5.1.1 No such user here"']);
    expect(await outcome('ldap://127.0.0.1:1/??sub??x-connect-timeout=2', 'carol@here.test')).toEqual(['ec_action 451 "4.4.3 Directory unavailable, try again later"']);
  });

  describe('a bound connection the server closed meanwhile', () => {
    let strict: TestSlapd;
    beforeAll(async () => {
      // Anonymous searches cannot read sn; slapd closes a connection idle for a second.
      strict = await startSlapd(LDIF, { global: ['idletimeout 1'], database: ['access to attrs=sn by users read by * none', 'access to * by * read'] });
    });
    afterAll(() => strict?.stop());

    it('is bound again before the next search, not left to search anonymously', async () => {
      const d = openDatasource(`${strict.url}/${PEOPLE}??sub?(uid=bob)?bindname=${encodeURIComponent(ADMIN)},x-bindpw=${ADMIN_PASSWORD}`, '.') as LdapDatasource;
      const anonymous = openDatasource(`${strict.url}/${PEOPLE}??sub?(uid=bob)`, '.') as LdapDatasource;
      try {
        expect(await anonymous.query('ldap:///?sn', {})).toEqual([{}]);
        expect(await d.query('ldap:///?sn', {})).toEqual([{ sn: 'Builder' }]);
        await new Promise((r) => setTimeout(r, 2500));
        expect(await d.query('ldap:///?sn', {})).toEqual([{ sn: 'Builder' }]);
      } finally {
        d.close();
        anonymous.close();
      }
    });
  });
});
