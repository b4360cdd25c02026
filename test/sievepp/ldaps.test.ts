/**
 * The ldaps: datasource over TLS, against a real slapd listening for
 * ldaps: with a self-signed certificate made in its directory
 * (test/helpers/slapd.ts), the certificate trusted, or not, as ldap.conf(5)
 * says (src/sievepp/datasources/ldap-conf.ts; conf-ldaps.md); and the
 * ldap.conf reader on its own, property tests included.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productFunctions } from '../../src/policy/functions.js';
import { CachedDatasource, DEFAULT_CACHE } from '../../src/sievepp/datasource.js';
import { openDatasource } from '../../src/sievepp/datasources/index.js';
import { LdapDatasource } from '../../src/sievepp/datasources/ldap.js';
import { ldapTlsSettings, parseLdapConf, tlsOptionsOf } from '../../src/sievepp/datasources/ldap-conf.js';
import { ADMIN, ADMIN_PASSWORD, NO_OPENSSL, NO_SLAPD, startSlapd, SUFFIX, type TestSlapd } from '../helpers/slapd.js';
import { tempDirPerTest } from '../helpers/temp-dir.js';
import { getValue } from '../../src/sievepp/values.js';
import { runPP } from './helpers.js';

const LDIF = `dn: uid=bob,${SUFFIX}
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: Builder
mail: bob@here.test
`;

describe('ldap.conf(5), as the ldaps: driver reads it', () => {
  const dir = tempDirPerTest('ldap-conf-');

  it('reads an option name and its value to the last non-blank, quotes and all; comments, blank lines and names without a value are nothing', () => {
    const conf = parseLdapConf('# Momentum\'s example (conf-ldaps.md)\nTLS_REQCERT try\n\n  # indented comment\nTLS_CACERT\t/etc/pki/tls/cert.pem  \r\nbase "dc=a, dc=b"\nURI\nuri ldaps://h\n');
    expect([...conf]).toEqual([['TLS_REQCERT', 'try'], ['TLS_CACERT', '/etc/pki/tls/cert.pem'], ['BASE', '"dc=a, dc=b"'], ['URI', 'ldaps://h']]);
  });

  it('property: options written one a line, among comments, blank lines and indentation, read back as written, the last of a name winning', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,11}$/);
    const value = fc.stringMatching(/^[^\s#]([^\r\n]{0,20}[^\s])?$/);
    const line = fc.oneof(
      fc.tuple(name, value, fc.constantFrom(' ', '\t', '  '), fc.constantFrom('', ' ', '\t')).map(([n, v, sep, lead]) => ({ n, v, text: `${lead}${n}${sep}${v}` })),
      fc.constantFrom('', '#', '# TLS_CACERT /x', '   # note', '\t').map((text) => ({ n: undefined, v: undefined, text })),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
        const expected = new Map<string, string>();
        for (const l of lines) if (l.n !== undefined) expected.set(l.n.toUpperCase(), l.v!);
        expect(parseLdapConf(lines.map((l) => l.text).join(eol))).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: any text reads without an error, each option a name without blanks and a value without a blank at either end', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        for (const [n, v] of parseLdapConf(text)) {
          expect(n).not.toMatch(/[ \t]|^#/);
          expect(v).not.toMatch(/^[ \t]|[ \t]$/);
          expect(v).not.toBe('');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads the system file, then LDAPCONF\'s, then the LDAPTLS_ variables, each over the one before; LDAPNOINIT reads none', async () => {
    const system = join(dir(), 'system.conf');
    const mine = join(dir(), 'mine.conf');
    writeFileSync(system, 'TLS_CACERT /system/ca.pem\nTLS_REQCERT never\n');
    writeFileSync(mine, 'TLS_REQCERT allow\nTLS_CACERTDIR /mine/certs\n');
    expect(await ldapTlsSettings({}, system)).toEqual({ caFile: '/system/ca.pem', reqcert: 'never', reqcertFrom: system });
    expect(await ldapTlsSettings({ LDAPCONF: mine }, system)).toEqual({ caFile: '/system/ca.pem', caDir: '/mine/certs', reqcert: 'allow', reqcertFrom: mine });
    expect(await ldapTlsSettings({ LDAPCONF: mine, LDAPTLS_CACERT: '/env/ca.pem', LDAPTLS_CACERTDIR: '/env/certs', LDAPTLS_REQCERT: 'Demand' }, system)).toMatchObject({ caFile: '/env/ca.pem', caDir: '/env/certs', reqcert: 'demand' });
    expect(await ldapTlsSettings({ LDAPNOINIT: '1', LDAPCONF: mine }, system)).toEqual({ reqcert: 'demand', reqcertFrom: 'the default' });
    // A missing system file is passed over, as libldap does; a file LDAPCONF names was meant to be read.
    expect(await ldapTlsSettings({}, join(dir(), 'none.conf'))).toEqual({ reqcert: 'demand', reqcertFrom: 'the default' });
    await expect(ldapTlsSettings({ LDAPCONF: join(dir(), 'none.conf') }, system)).rejects.toThrow(/cannot read the LDAP client configuration .*none\.conf/);
    await expect(ldapTlsSettings({ LDAPTLS_REQCERT: 'sometimes' }, system)).rejects.toThrow('TLS_REQCERT (LDAPTLS_REQCERT) is never, allow, try, demand or hard, not sometimes');
  });
});

describe('TLS_CACERTDIR, as the ldaps: driver reads it', () => {
  const dir = tempDirPerTest('ldap-cacertdir-');

  it('trusts each PEM certificate in the directory once, however many names it has there, and passes over what is not one', async () => {
    const pem = (n: number) => `-----BEGIN CERTIFICATE-----\nMIIB${n}\n-----END CERTIFICATE-----\n`;
    const certs = join(dir(), 'certs');
    mkdirSync(join(certs, 'sub'), { recursive: true });
    writeFileSync(join(certs, 'one.pem'), pem(1));
    // c_rehash's name for the same certificate.
    writeFileSync(join(certs, '5a6b7c8d.0'), pem(1));
    writeFileSync(join(certs, 'two.crt'), pem(2));
    writeFileSync(join(certs, 'README'), 'certificates for the directory\n');
    writeFileSync(join(dir(), 'bundle.pem'), pem(3));
    expect(await tlsOptionsOf({ caDir: certs, reqcert: 'demand', reqcertFrom: 'x' })).toEqual({ ca: [pem(1), pem(2)], rejectUnauthorized: true });
    expect(await tlsOptionsOf({ caFile: join(dir(), 'bundle.pem'), caDir: certs, reqcert: 'allow', reqcertFrom: 'x' })).toEqual({ ca: [pem(3), pem(1), pem(2)], rejectUnauthorized: false });
  });
});

describe.skipIf(NO_SLAPD || NO_OPENSSL)('the ldaps: datasource against slapd over TLS (skipped: slapd or openssl is not installed; .ci/run installs them)', () => {
  const dir = tempDirPerTest('ldaps-');
  let slapd: TestSlapd;
  beforeAll(async () => {
    slapd = await startSlapd(LDIF, { tls: true });
  });
  afterAll(() => slapd?.stop());

  /** An ldap.conf of its own in the test's directory, and a datasource that reads it (as LDAPCONF) after an empty system file. */
  let confs = 0;
  const directory = (conf: string, env: Record<string, string> = {}) => {
    const file = join(dir(), `ldap-${++confs}.conf`);
    writeFileSync(file, conf);
    writeFileSync(join(dir(), 'system.conf'), '');
    return new LdapDatasource(`${slapd.ldapsUrl}/${SUFFIX}??sub`, { env: { LDAPCONF: file, ...env }, systemLdapConf: join(dir(), 'system.conf') });
  };
  /** Another self-signed certificate, which signed nothing slapd presents. */
  const stranger = () => {
    const file = join(dir(), 'stranger.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir(), 'stranger.key'), '-out', file], { stdio: 'pipe' });
    return file;
  };

  it('searches over ldaps: when TLS_CACERT names the certificate the server presents, bound as bindname says', async () => {
    const ds = directory(`TLS_CACERT ${slapd.certificate}\n`);
    const plain = openDatasource(`${slapd.url}/${SUFFIX}??sub`, '.') as LdapDatasource;
    try {
      expect(await ds.query('ldap:///?mail??(uid=$user)', { user: 'bob' })).toEqual([{ mail: 'bob@here.test' }]);
      expect(await ds.query(`ldap:///?sn??(uid=bob)?bindname=${encodeURIComponent(ADMIN)},x-bindpw=${ADMIN_PASSWORD},x-ldap-version=3`, {})).toEqual([{ sn: 'Builder' }]);
      // The same server on its ldap: port: the uri's ldaps: is what made it TLS.
      expect(await plain.query('ldap:///?mail??(uid=bob)', {})).toEqual([{ mail: 'bob@here.test' }]);
    } finally {
      ds.close();
      plain.close();
    }
  });

  it('fails the query, saying the certificate is not trusted and how to trust it, when TLS_CACERT names another CA or none is named', async () => {
    const other = directory(`TLS_CACERT ${stranger()}\n`);
    const none = directory('');
    try {
      await expect(other.query('ldap:///?mail??(uid=bob)', {})).rejects.toThrow(/^LDAP 127\.0\.0\.1:\d+: the server's certificate is not trusted \(self[- ]signed certificate\): TLS_CACERT in ldap\.conf names the CA certificates to trust$/);
      await expect(none.query('ldap:///?mail??(uid=bob)', {})).rejects.toThrow(/the server's certificate is not trusted \(self[- ]signed certificate\)/);
    } finally {
      other.close();
      none.close();
    }
  });

  it('TLS_REQCERT never or allow accept any certificate; try and demand verify it; LDAPTLS_CACERT names the file as TLS_CACERT does', async () => {
    for (const [reqcert, trusted] of [['never', true], ['allow', true], ['try', false], ['demand', false], ['hard', false]] as const) {
      const ds = directory(`TLS_REQCERT ${reqcert}\n`);
      try {
        const query = ds.query('ldap:///?mail??(uid=bob)', {});
        if (trusted) expect(await query).toEqual([{ mail: 'bob@here.test' }]);
        else await expect(query).rejects.toThrow(/not trusted/);
      } finally {
        ds.close();
      }
    }
    const byVariable = directory('', { LDAPTLS_CACERT: slapd.certificate! });
    try {
      expect(await byVariable.query('ldap:///?mail??(uid=bob)', {})).toEqual([{ mail: 'bob@here.test' }]);
    } finally {
      byVariable.close();
    }
  });

  it('TLS_CACERTDIR trusts the certificates of the files in it, with TLS_CACERT\'s; one that cannot be read fails the query with its name', async () => {
    const certs = join(dir(), 'certs');
    mkdirSync(join(certs, 'sub'), { recursive: true });
    writeFileSync(join(certs, 'README'), 'not a certificate\n');
    copyFileSync(slapd.certificate!, join(certs, 'slapd.pem'));
    const strangers = join(dir(), 'strangers');
    mkdirSync(strangers);
    copyFileSync(stranger(), join(strangers, 'stranger.pem'));
    const inDir = directory(`TLS_CACERTDIR ${certs}\n`);
    const withFile = directory(`TLS_CACERT ${stranger()}\nTLS_CACERTDIR ${certs}\n`);
    const fileWithDir = directory(`TLS_CACERT ${slapd.certificate}\nTLS_CACERTDIR ${strangers}\n`);
    const others = directory(`TLS_CACERTDIR ${strangers}\n`);
    const missing = directory(`TLS_CACERTDIR ${join(dir(), 'no-such-dir')}\n`);
    try {
      for (const ds of [inDir, withFile, fileWithDir]) expect(await ds.query('ldap:///?mail??(uid=bob)', {})).toEqual([{ mail: 'bob@here.test' }]);
      await expect(others.query('ldap:///?mail??(uid=bob)', {})).rejects.toThrow(/the server's certificate is not trusted/);
      await expect(missing.query('ldap:///?mail??(uid=bob)', {})).rejects.toThrow(/^LDAP 127\.0\.0\.1:\d+: cannot read TLS_CACERTDIR .*no-such-dir: ENOENT/);
    } finally {
      for (const ds of [inDir, withFile, fileWithDir, others, missing]) ds.close();
    }
  });

  it('a TLS_CACERT that cannot be read fails the query with its name; in a script, an untrusted certificate is datasource_error', async () => {
    const missing = directory(`TLS_CACERT ${join(dir(), 'missing.pem')}\n`);
    try {
      await expect(missing.query('ldap:///?mail??(uid=bob)', {})).rejects.toThrow(/^LDAP 127\.0\.0\.1:\d+: cannot read TLS_CACERT .*missing\.pem: ENOENT/);
    } finally {
      missing.close();
    }
    const untrusted = directory('');
    try {
      const r = await runPP('$r = ds_fetch_hash "directory" "ldap:///?mail??(uid=bob)"; $e = vctx_conn_get "datasource_error";', {
        compile: { functions: productFunctions() },
        host: { datasources: new Map([['directory', new CachedDatasource(untrusted, DEFAULT_CACHE)]]) },
      });
      expect(getValue(r.runtime, 'r')).toEqual(new Map());
      expect(getValue(r.runtime, 'e')).toMatch(/^LDAP 127\.0\.0\.1:\d+: the server's certificate is not trusted/);
    } finally {
      untrusted.close();
    }
  });
});
