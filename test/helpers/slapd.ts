/**
 * A real OpenLDAP server (Debian's slapd) on 127.0.0.1 and a free port, for
 * the ldap: datasource's tests: its directory loaded from LDIF with slapadd,
 * configured by a slapd.conf of its own in a temporary directory, started by
 * the test and stopped by its PID.
 *
 * Where slapd is not installed the tests that need it are skipped with that
 * reason, except under CI (`CI` set), where .ci/run installs it and a
 * missing binary is a failure, never a silent skip.
 *
 * The server also tells which connections it has open (its monitor
 * backend, slapd-monitor(5): cn=Connections,cn=Monitor), for the tests of
 * the datasource's connection cache, and may listen for ldaps: too, with a
 * self-signed certificate openssl makes in its directory.
 */
import { execFileSync, spawn } from 'node:child_process';
import { Client } from 'ldapts';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
export const NO_SLAPD = !existsSync(SLAPD) || !existsSync(SLAPADD);
if (NO_SLAPD && process.env.CI) throw new Error('slapd is not installed: .ci/run must install it (apt-get install slapd)');
/** openssl makes the certificate of an ldaps: listener (`tls`). */
export const NO_OPENSSL = !commandRuns('openssl', ['version']);
if (NO_OPENSSL && process.env.CI) throw new Error('openssl is not installed: .ci/run must install it (apt-get install openssl)');

function commandRuns(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const SUFFIX = 'dc=example,dc=test';
export const ADMIN = `cn=admin,${SUFFIX}`;
export const ADMIN_PASSWORD = 'secret';

export interface TestSlapd {
  port: number;
  url: string;
  /** With `tls`: the ldaps:// listener, and the certificate it presents (self-signed: the file to trust it by). */
  ldapsUrl?: string;
  certificate?: string;
  /** The client connections open now, by slapd's monitor (the one asking left out). */
  connections(): Promise<SlapdConnection[]>;
  stop(): Promise<void>;
}

/** A connection as slapd's monitor shows it: its number (new for each connection) and the DN it bound as ('' anonymous). */
export interface SlapdConnection {
  number: number;
  authzDN: string;
}

/** The monitor's own root DN: the helper's connection to the monitor binds as it, to leave itself out of what it counts. */
const WATCHER = 'cn=Watcher,cn=Monitor';
const WATCHER_PASSWORD = 'watcher';

/** One more directory the server holds: its suffix, and its entries (the suffix entry included). */
export interface SlapdDatabase {
  suffix: string;
  ldif: string;
}

/**
 * slapd serving SUFFIX with `ldif` loaded (entries below SUFFIX; the suffix
 * entry itself is made here). `global` and `database` are more slapd.conf
 * lines for those sections (slapd.conf(5): `idletimeout`, `access to`),
 * `schema` more schema definitions, and `databases` more directories
 * (a DN to bind as that is outside SUFFIX, as Momentum's examples bind).
 */
export async function startSlapd(ldif: string, more: { global?: string[]; database?: string[]; schema?: string; databases?: SlapdDatabase[]; tls?: boolean } = {}): Promise<TestSlapd> {
  const dir = await mkdtemp(join(tmpdir(), 'slapd-'));
  const conf = join(dir, 'slapd.conf');
  const main: SlapdDatabase = { suffix: SUFFIX, ldif: `dn: ${SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n${ldif}` };
  const databases = [main, ...(more.databases ?? [])];
  if (more.schema) await writeFile(join(dir, 'more.schema'), more.schema);
  const lines = [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    ...(more.schema ? [`include ${join(dir, 'more.schema')}`] : []),
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `pidfile ${join(dir, 'slapd.pid')}`,
    ...(more.global ?? []),
  ];
  const certificate = join(dir, 'server.crt');
  if (more.tls) {
    // Self-signed, for the address the tests connect to (RFC 6125: an IP address is matched against an iPAddress subjectAltName).
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'server.key'), '-out', certificate], { stdio: 'pipe' });
    lines.push(`TLSCertificateFile ${certificate}`, `TLSCertificateKeyFile ${join(dir, 'server.key')}`);
  }
  lines.push('database monitor', `rootdn "${WATCHER}"`, `rootpw ${WATCHER_PASSWORD}`);
  for (const [i, db] of databases.entries()) {
    await mkdir(join(dir, `db${i}`));
    lines.push('database mdb', 'maxsize 10485760', `suffix "${db.suffix}"`, `directory ${join(dir, `db${i}`)}`);
    if (db === main) lines.push(`rootdn "${ADMIN}"`, `rootpw ${ADMIN_PASSWORD}`, ...(more.database ?? []));
  }
  await writeFile(conf, [...lines, ''].join('\n'));
  for (const [i, db] of databases.entries()) {
    await writeFile(join(dir, `data${i}.ldif`), db.ldif);
    execFileSync(SLAPADD, ['-f', conf, '-b', db.suffix, '-l', join(dir, `data${i}.ldif`)], { stdio: 'pipe' });
  }
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const tlsPort = more.tls ? await freePort() : undefined;
  const ldapsUrl = tlsPort ? `ldaps://127.0.0.1:${tlsPort}` : undefined;
  // -d 0: in the foreground, so that the child is slapd itself and its PID the one to stop.
  const child = spawn(SLAPD, ['-f', conf, '-h', [`${url}/`, ...(ldapsUrl ? [`${ldapsUrl}/`] : [])].join(' '), '-d', '0'], { stdio: 'ignore' });
  const up = async () => (await listening(port)) && (tlsPort === undefined || (await listening(tlsPort)));
  for (let i = 0; i < 100 && !(await up()); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await up())) {
    child.kill('SIGKILL');
    throw new Error(`slapd did not start on port ${port}${tlsPort ? ` and ${tlsPort}` : ''}: ${await readFile(conf, 'utf8')}`);
  }
  return {
    port,
    url,
    ...(ldapsUrl ? { ldapsUrl, certificate } : {}),
    async connections() {
      const watcher = new Client({ url });
      try {
        await watcher.bind(WATCHER, WATCHER_PASSWORD);
        const { searchEntries } = await watcher.search('cn=Connections,cn=Monitor', {
          scope: 'one',
          filter: '(objectClass=monitorConnection)',
          attributes: ['monitorConnectionNumber', 'monitorConnectionAuthzDN'],
        });
        return searchEntries
          .map((e) => ({ number: Number(e.monitorConnectionNumber), authzDN: String(e.monitorConnectionAuthzDN ?? '') }))
          .filter((c) => c.authzDN.toLowerCase() !== WATCHER.toLowerCase())
          .sort((a, b) => a.number - b.number);
      } finally {
        await watcher.unbind();
      }
    },
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
