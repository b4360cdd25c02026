/**
 * A real OpenLDAP server (Debian's slapd) on 127.0.0.1 and a free port, for
 * the ldap: datasource's tests: its directory loaded from LDIF with slapadd,
 * configured by a slapd.conf of its own in a temporary directory, started by
 * the test and stopped by its PID.
 *
 * Where slapd is not installed the tests that need it are skipped with that
 * reason, except under CI (`CI` set), where .ci/run installs it and a
 * missing binary is a failure, never a silent skip.
 */
import { execFileSync, spawn } from 'node:child_process';
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

export const SUFFIX = 'dc=example,dc=test';
export const ADMIN = `cn=admin,${SUFFIX}`;
export const ADMIN_PASSWORD = 'secret';

export interface TestSlapd {
  port: number;
  url: string;
  stop(): Promise<void>;
}

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
export async function startSlapd(ldif: string, more: { global?: string[]; database?: string[]; schema?: string; databases?: SlapdDatabase[] } = {}): Promise<TestSlapd> {
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
  // -d 0: in the foreground, so that the child is slapd itself and its PID the one to stop.
  const child = spawn(SLAPD, ['-f', conf, '-h', `${url}/`, '-d', '0'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !(await listening(port)); i++) {
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!(await listening(port))) {
    child.kill('SIGKILL');
    throw new Error(`slapd did not start on port ${port}: ${await readFile(conf, 'utf8')}`);
  }
  return {
    port,
    url,
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
