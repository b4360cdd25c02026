/**
 * The ldap: datasource's connection cache (src/sievepp/datasources/
 * ldap-connections.ts; ds_ldap's connection_cache_size and
 * connection_cache_life, 4/modules/ds-core.md): the connections a real
 * slapd sees (its monitor, test/helpers/slapd.ts), opened, kept, used
 * again and closed as the options say; and the cache on its own, where a
 * connection pushed out while a query uses it is closed only after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { createMomentumServices } from '../../src/policy/momentum-services.js';
import { openDatasource } from '../../src/sievepp/datasources/index.js';
import type { LdapDatasource } from '../../src/sievepp/datasources/ldap.js';
import { ConnectionCache } from '../../src/sievepp/datasources/ldap-connections.js';
import { ADMIN, ADMIN_PASSWORD, NO_SLAPD, type SlapdConnection, startSlapd, SUFFIX, type TestSlapd } from '../helpers/slapd.js';

const LDIF = `dn: uid=bob,${SUFFIX}
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder
`;
const ANONYMOUS = 'ldap:///?cn??(uid=bob)';
const BOUND = `ldap:///?cn??(uid=bob)?bindname=${encodeURIComponent(ADMIN)},x-bindpw=${ADMIN_PASSWORD}`;

/**
 * Asks again until `done` holds: slapd removes a connection from its monitor
 * once it has read the client's unbind. Bounded, so that a connection never
 * closed fails with what slapd holds rather than at the test's timeout.
 */
async function until(slapd: TestSlapd, done: (c: SlapdConnection[]) => boolean): Promise<SlapdConnection[]> {
  let c: SlapdConnection[] = [];
  for (let i = 0; i < 100; i++) {
    c = await slapd.connections();
    if (done(c)) return c;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`slapd's connections never came to what the test waits for: ${JSON.stringify(c)}`);
}

describe.skipIf(NO_SLAPD)('the ldap: connection cache against slapd (skipped: slapd is not installed; .ci/run installs it)', () => {
  let slapd: TestSlapd;
  beforeAll(async () => {
    slapd = await startSlapd(LDIF);
  });
  afterAll(() => slapd?.stop());

  const open = (cache: { size: number; lifeSeconds: number | null }) => openDatasource(`${slapd.url}/${SUFFIX}??sub`, '.', { connectionCache: cache }) as LdapDatasource;

  it('uses one connection again for the same server and bind, and another for another bind', async () => {
    const ds = open({ size: 16, lifeSeconds: null });
    try {
      await ds.query(BOUND, {});
      const [first] = await until(slapd, (c) => c.length === 1);
      expect(first!.authzDN).toBe(ADMIN);
      await ds.query(BOUND, {});
      expect(await slapd.connections()).toEqual([first]);
      await ds.query(ANONYMOUS, {});
      const both = await until(slapd, (c) => c.length === 2);
      expect(both.map((c) => c.authzDN)).toEqual([ADMIN, '']);
    } finally {
      ds.close();
      await until(slapd, (c) => c.length === 0);
    }
  });

  it('connection_cache_life, from the configuration: a connection is closed when it is that old, used or not, and the next query opens another', async () => {
    const conf = `Datasource "directory" {\n  uri = ( "${slapd.url}/${SUFFIX}??sub" )\n  no_cache = true\n  connection_cache_life = 1\n}`;
    const r = parseConfigText(conf, 'test.conf');
    expect(r.diagnostics).toEqual([]);
    expect(r.config!.datasources[0]).toMatchObject({ connectionCacheSize: 16, connectionCacheLifeMs: 1000 });
    const services = createMomentumServices(r.config!);
    const ds = services.datasources.get('directory')!;
    try {
      expect(await ds.query(BOUND, {})).toEqual([{ cn: 'Bob' }]);
      const [first] = await until(slapd, (c) => c.length === 1);
      // No query comes: the cache closes it at its age.
      await until(slapd, (c) => c.length === 0);
      expect(await ds.query(BOUND, {})).toEqual([{ cn: 'Bob' }]);
      const [second] = await until(slapd, (c) => c.length === 1);
      expect(second!.number).not.toBe(first!.number);
      expect(second!.authzDN).toBe(ADMIN);
    } finally {
      services.close();
      await until(slapd, (c) => c.length === 0);
    }
  });

  it('connection_cache_size 1: a connection for another bind closes the least recently used one', async () => {
    const ds = open({ size: 1, lifeSeconds: null });
    try {
      await ds.query(ANONYMOUS, {});
      const [anonymous] = await until(slapd, (c) => c.length === 1);
      expect(anonymous!.authzDN).toBe('');
      await ds.query(BOUND, {});
      const [bound] = await until(slapd, (c) => c.length === 1 && c[0]!.authzDN === ADMIN);
      await ds.query(BOUND, {});
      expect(await slapd.connections()).toEqual([bound]);
      await ds.query(ANONYMOUS, {});
      const [again] = await until(slapd, (c) => c.length === 1 && c[0]!.authzDN === '');
      expect(again!.number).toBeGreaterThan(bound!.number);
    } finally {
      ds.close();
      await until(slapd, (c) => c.length === 0);
    }
  });

  it('connection_cache_size 0 keeps none, as x-disable-connection-cache=true does for its query', async () => {
    const none = open({ size: 0, lifeSeconds: null });
    const kept = open({ size: 16, lifeSeconds: null });
    try {
      expect(await none.query(BOUND, {})).toEqual([{ cn: 'Bob' }]);
      await until(slapd, (c) => c.length === 0);
      expect(await kept.query(`${BOUND},x-disable-connection-cache=true`, {})).toEqual([{ cn: 'Bob' }]);
      await until(slapd, (c) => c.length === 0);
    } finally {
      none.close();
      kept.close();
    }
  });

  it('the configuration takes connection_cache_size from 0 and a connection_cache_life above 0, and warns of them in a datasource without connections', () => {
    expect(parseConfigText('Datasource "d" { uri = ( "ldap://h" ) connection_cache_size = 0 }', 'test.conf').config?.datasources[0]).toMatchObject({ connectionCacheSize: 0, connectionCacheLifeMs: null });
    expect(parseConfigText('Datasource "d" { uri = ( "ldap://h" ) connection_cache_size = -1 }', 'test.conf').config).toBeNull();
    expect(parseConfigText('Datasource "d" { uri = ( "ldap://h" ) connection_cache_life = 0 }', 'test.conf').config).toBeNull();
    const csv = parseConfigText('Datasource "d" {\n  uri = ( "csv:" )\n  connection_cache_life = 60\n}', 'test.conf');
    expect(csv.diagnostics.map((d) => `${d.line}: ${d.severity}: ${d.message}`)).toEqual([`3: warning: option 'connection_cache_life' in Datasource "d" has no effect: only the ldap: driver keeps connections`]);
  });

  it("takes ds_ldap's scope as the default of every LDAP datasource, each Datasource's own setting first, and warns of its debug_level", () => {
    const r = parseConfigText(
      'ds_ldap {\n  connection_cache_size = 4\n  connection_cache_life = 30\n  debug_level = 1\n}\nDatasource "a" { uri = ( "ldap://h" ) }\nDatasource "b" { uri = ( "ldap://h" ) connection_cache_size = 2 connection_cache_life = 5 }',
      'test.conf',
    );
    expect(r.config?.datasources.map((d) => [d.name, d.connectionCacheSize, d.connectionCacheLifeMs])).toEqual([
      ['a', 4, 30_000],
      ['b', 2, 5_000],
    ]);
    expect(r.diagnostics.map((d) => `${d.line}: ${d.severity}: ${d.message}`)).toEqual([`4: warning: Momentum's option 'debug_level' in ds_ldap has no effect in smtp-cbv: ignored`]);
    // Without the scope, the options' own defaults.
    expect(parseConfigText('Datasource "a" { uri = ( "ldap://h" ) }', 'test.conf').config?.datasources[0]).toMatchObject({ connectionCacheSize: 16, connectionCacheLifeMs: null });
  });
});

describe('the connection cache on its own', () => {
  /** Connections as plain records: which are open, and the order they were closed in. */
  const world = () => {
    const closed: string[] = [];
    const cache = new ConnectionCache<{ name: string; open: boolean }>({ size: 1, lifeSeconds: null }, {
      alive: (c) => c.open,
      close: async (c) => {
        c.open = false;
        closed.push(c.name);
      },
    });
    return { cache, closed, conn: (name: string) => async () => ({ name, open: true }) };
  };

  it('closes a connection pushed out while a query uses it only when that query is done', async () => {
    const { cache, closed, conn } = world();
    const a = await cache.lease('a', conn('a'));
    const b = await cache.lease('b', conn('b'));
    expect(cache.size).toBe(1);
    await Promise.resolve();
    expect(closed).toEqual([]);
    a.release(false);
    await new Promise((r) => setImmediate(r));
    expect(closed).toEqual(['a']);
    b.release(false);
    expect((await cache.lease('b', conn('other'))).connection.name).toBe('b');
  });

  it('opens another for a connection that failed, or that the server closed meanwhile, and keeps none that could not be opened', async () => {
    const { cache, closed, conn } = world();
    const a = await cache.lease('a', conn('a1'));
    a.release(true);
    const again = await cache.lease('a', conn('a2'));
    expect(again.connection.name).toBe('a2');
    again.connection.open = false;
    again.release(false);
    expect((await cache.lease('a', conn('a3'))).connection.name).toBe('a3');
    await new Promise((r) => setImmediate(r));
    expect(closed).toEqual(['a1', 'a2']);
    const { cache: c2 } = world();
    await expect(c2.lease('x', () => Promise.reject(new Error('refused')))).rejects.toThrow('refused');
    expect(c2.size).toBe(0);
  });
});
