/**
 * ec_dkim_sign (sieve-ref-ec-dkim-sign.md) through the real server: a DATA
 * script asks for the signature, the session stores the message, and the
 * stored file is verified with mailauth's dkimVerify, the selector's key
 * record answered by the loopback DNS server (test/helpers/dns-server.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dkimVerify } from 'mailauth';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { formatDiagnostic } from '../../src/diagnostics.js';
import { createMomentumServices } from '../../src/policy/momentum-services.js';
import { policyCompileOptions } from '../../src/policy/compile-options.js';
import { SievePolicy } from '../../src/session/policy.js';
import { compileSieve } from '../../src/sievepp/compile.js';
import type { MomentumHost } from '../../src/sievepp/host.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startRelayServer } from '../helpers/relay-server.js';
import { MilterClient, playTransaction } from '../helpers/milter-client.js';
import { services as milterServices, sievePolicy, startMilter } from '../frontdoors/fixture.js';
import { sendMail, startTestServer } from '../helpers/server-fixture.js';

const DOCS = path.resolve('../shared/momentum-docs/scripts');
const EXAMPLE = path.join(DOCS, '060-ec-dkim-sign.siv');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

let keys: string;
let dnsServer: TestDnsServer;
let resolver: dns.Resolver;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
const record = `v=DKIM1; k=rsa; p=${publicKey.export({ format: 'der', type: 'spki' }).toString('base64')}`;

beforeAll(async () => {
  keys = await mkdtemp(path.join(tmpdir(), 'smtp-cbv-dkim-'));
  for (const [domain, selector] of [['my.signing.domain.com', 'myselector'], ['example.org', 'sel1'], ['example.org', 'corpsel']] as const) {
    await mkdir(path.join(keys, domain), { recursive: true });
    await writeFile(path.join(keys, domain, `${selector}.key`), pem);
  }
  dnsServer = await startDnsServer({ 'myselector._domainkey.my.signing.domain.com': { TXT: [record] }, 'sel1._domainkey.example.org': { TXT: [record] }, 'corpsel._domainkey.example.org': { TXT: [record] } });
  resolver = new dns.Resolver();
  resolver.setServers([dnsServer.address]);
});
afterAll(async () => {
  await dnsServer?.close();
  await rm(keys, { recursive: true, force: true });
});

function compile(text: string, file = 'data.siv') {
  const r = compileSieve(text, { file, ...policyCompileOptions(file, { phase: 'data' }) });
  return { script: r.script, errors: r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d, file)) };
}

/** A server whose DATA script is `text`, with the key files under `keys` as the host's default key file. */
async function serve(text: string, momentum: Partial<MomentumHost> = { dkim: { keyfile: path.join(keys, '%{d}', '%{s}.key') } }) {
  const { script, errors } = compile(text);
  expect(errors).toEqual([]);
  const policy = new SievePolicy({ scripts: { data: { phase1: script! } }, runtimeError: 'fail' });
  const t = await startTestServer(policy, { services: { momentum } });
  cleanups.push(() => t.close());
  return t;
}

async function verify(message: string) {
  const r = await dkimVerify(Buffer.from(message, 'latin1'), { resolver: (name: string, type: string) => resolver.resolve(name, type as 'TXT') as Promise<never> });
  return r.results.map((x) => ({ domain: x.signingDomain, selector: x.selector, result: x.status.result }));
}

const MESSAGE = 'From: Joe <joe@example.org>\r\nTo: bob@here.test\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nSubject: hello   there\r\n\r\nbody line  \r\n\r\n\r\n';

describe.skipIf(!existsSync(EXAMPLE))('the documented example (060-ec-dkim-sign.siv)', () => {
  it('signs the stored message for my.signing.domain.com with myselector; the signature verifies, the Received: above it unsigned', async () => {
    const t = await serve(readFileSync(EXAMPLE, 'utf8'));
    const r = await sendMail(await t.client(), 'joe@example.org', ['bob@here.test', 'carol@here.test'], MESSAGE);
    expect(r.end?.code).toBe(250);
    const [m] = await t.spooled();
    expect(m!.message).toMatch(/^Received: [\s\S]*?\r\nDKIM-Signature: v=1; a=rsa-sha256; c=simple\/simple;\r\n d=my.signing.domain.com; h=Subject: Date: To: From; q=dns\/txt;\r\n s=myselector; /);
    expect(m!.message.endsWith(MESSAGE)).toBe(true);
    expect(await verify(m!.message)).toEqual([{ domain: 'my.signing.domain.com', selector: 'myselector', result: 'pass' }]);
  });
});

describe('ec_dkim_sign on the stored message', () => {
  it('relaxed/relaxed and rsa-sha1 from the hash; the From domain when none is given; a copy per folder, each verifying', async () => {
    const t = await serve('$p = hash_create; hash_set $p "selector" "sel1"; hash_set $p "header_canon" "relaxed"; hash_set $p "body_canon" "RELAXED"; hash_set $p "digest" "rsa-sha1";\nec_dkim_sign $p;\nkeep; fileinto "Archive";');
    await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE);
    const [inbox] = await t.spooled();
    const [archive] = await t.spooled('.Archive');
    for (const m of [inbox!, archive!]) {
      expect(m.message).toContain('a=rsa-sha1; c=relaxed/relaxed');
      expect(await verify(m.message)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
    }
  });

  it('signs after the header edits: an ec_header_add and an ec_header_prefix made before the call are covered, a later change would not be', async () => {
    const t = await serve(
      'ec_header_add "X-Policy" "checked"; ec_header_prefix "Subject" "[ok] ";\n$p = hash_create; hash_set $p "selector" "sel1"; hash_set $p "headerlist" "From:Subject:X-Policy?";\nec_dkim_sign $p;',
    );
    await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE);
    const [m] = await t.spooled();
    expect(m!.message).toMatch(/ h=Subject: From: X-Policy; /);
    expect(m!.message).toContain('\r\nX-Policy: checked\r\n');
    expect(m!.message).toContain('\r\nSubject: [ok] hello   there\r\n');
    expect((await verify(m!.message))[0]!.result).toBe('pass');
    // The signature covers the edited fields: undo the prefix and it fails.
    expect((await verify(m!.message.replace('[ok] ', '')))[0]!.result).toBe('fail');
  });

  it('signs the body disclaimer_add made, whatever the order of the two calls: the signature is made last', async () => {
    const t = await serve('$p = hash_create; hash_set $p "selector" "sel1";\nec_dkim_sign $p;\n$d = hash_create; hash_set $d "plain" "Scanned.";\ndisclaimer_add $d;');
    await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE);
    const [m] = await t.spooled();
    expect(m!.message).toContain('\r\nScanned.');
    expect(await verify(m!.message)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
  });

  it('the From domain as written in any case finds the key under its lower-case name (domains are case-insensitive, RFC 1035 2.3.3; file names are not)', async () => {
    const t = await serve('$p = hash_create; hash_set $p "selector" "sel1";\nec_dkim_sign $p;');
    const r = await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE.replace('joe@example.org', 'joe@Example.ORG'));
    expect(r.end?.code).toBe(250);
    const [m] = await t.spooled();
    expect(await verify(m!.message)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
  });

  it('keybuf (the PKCS#1 key openssl genrsa writes, as one base64 line), lifetime and body_length_limit: x= and l= are written and the signature verifies', async () => {
    const keybuf = privateKey.export({ format: 'der', type: 'pkcs1' }).toString('base64');
    const t = await serve(`$p = hash_create; hash_set $p "selector" "sel1"; hash_set $p "keybuf" "${keybuf}"; hash_set $p "lifetime" "24"; hash_set $p "body_length_limit" "true";\nec_dkim_sign $p;`, {});
    await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE);
    const [m] = await t.spooled();
    const sig = /DKIM-Signature:[^]*?(?=\r\n[^ \t])/.exec(m!.message)![0];
    const t0 = Number(/t=(\d+)/.exec(sig)![1]);
    expect(Number(/x=(\d+)/.exec(sig)![1]) - t0).toBe(24 * 3600);
    expect(sig).toMatch(/l=\d+;/);
    expect(await verify(m!.message)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
  });

  it("a script's base_domain overrides a configured signing_domain: the two are one parameter", async () => {
    const t = await serve('$p = hash_create; hash_set $p "selector" "sel1"; hash_set $p "base_domain" "example.org";\nec_dkim_sign $p;', {
      dkim: { keyfile: path.join(keys, '%{d}', '%{s}.key'), signing_domain: 'my.signing.domain.com' },
    });
    expect((await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE)).end?.code).toBe(250);
    const [m] = await t.spooled();
    expect(await verify(m!.message)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
  });

  it('a missing key file is the statement runtime error: 451 with runtime_error = fail, nothing stored', async () => {
    const t = await serve('$p = hash_create; hash_set $p "selector" "nokey";\nec_dkim_sign $p;');
    const r = await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE);
    expect(r.end?.code).toBe(451);
    expect(await t.spooled()).toEqual([]);
  });
});

describe('key files', () => {
  it('are read once a minute: a key read signs the next message though its file is gone; a key that could not be read is read again', async () => {
    const t = await serve('$p = hash_create; hash_set $p "selector" "cached";\nec_dkim_sign $p;');
    const file = path.join(keys, 'example.org', 'cached.key');
    // Not there yet: refused, and not remembered.
    expect((await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE)).end?.code).toBe(451);
    await writeFile(file, pem);
    expect((await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE)).end?.code).toBe(250);
    await rm(file);
    expect((await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE)).end?.code).toBe(250);
    const stored = await t.spooled();
    expect(stored).toHaveLength(2);
    for (const m of stored) expect(m.message).toMatch(/ s=cached; /);
  });
});

describe('the opendkim scope gives the defaults', () => {
  it("Momentum 4's opendkim example, with its key under the configuration: a bare ec_dkim_sign signs relaxed/relaxed with the listed fields", async () => {
    const conf = path.join(keys, 'ecelerity.conf');
    const text = 'opendkim "opendkim1" {\n  header_canon = "relaxed"\n  body_canon = "relaxed"\n  headerlist = ("from", "to", "message-id", "date", "subject", "Content-Type")\n  digest = "rsa-sha256"\n  key = "%{d}/%{s}.key"\n  selector = "sel1"\n  keycache_size = 2048\n  dkim_domain "ectest.example.com" {\n    selector = "dkim-s1024"\n  }\n}\n';
    const r = parseConfigText(text, conf);
    expect(r.diagnostics.map((d) => `${d.severity}: ${d.message}`)).toEqual([
      `warning: ${SIGNS_ALL}`,
      "warning: Momentum's option 'keycache_size' in opendkim \"opendkim1\" has no effect in smtp-cbv: ignored",
    ]);
    const services = createMomentumServices(r.config!);
    cleanups.push(async () => services.close());
    expect(services.dkim).toMatchObject({ keyfile: path.join(keys, '%{d}/%{s}.key'), selector: 'sel1', header_canon: 'relaxed', headerlist: 'from:to:message-id:date:subject:Content-Type' });
    const t = await serve('ec_dkim_sign;', services);
    await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE);
    const [m] = await t.spooled();
    expect(m!.message).toMatch(/c=relaxed\/relaxed; d=example.org;\r\n h=Subject: Date: To: From; /);
    expect(await verify(m!.message)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
  });
});

const SIGNS_ALL = 'opendkim signs every accepted message whose From domain has a key, mail from outside included (opendkim_sign is on by default): set sign_condition (such as "auth_user") or opendkim_sign = false';

describe("the opendkim module's own signing (opendkim_sign, sign_condition)", () => {
  /** A server whose DATA script is `script` and whose configuration is `conf` (its opendkim scope and options). */
  async function configured(conf: string, script: string) {
    const r = parseConfigText(conf, path.join(keys, 'auto.conf'));
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const services = createMomentumServices(r.config!);
    cleanups.push(async () => services.close());
    return { t: await serve(script, services), warnings: r.diagnostics.map((d) => d.message) };
  }
  const send = async (t: Awaited<ReturnType<typeof serve>>, from: string, subject: string) => {
    const r = await sendMail(await t.client(), from, ['bob@here.test'], MESSAGE.replace('joe@example.org', from).replace('hello   there', subject));
    expect(r.end?.code).toBe(250);
  };
  const stored = async (t: Awaited<ReturnType<typeof serve>>, subject: string) => (await t.spooled()).map((m) => m.message).find((m) => m.includes(`Subject: ${subject}`))!;

  it('signs, without a script asking, every message whose From domain has a key, once even when a script signs too; a domain without a key is left unsigned', async () => {
    const { t, warnings } = await configured('opendkim {\n  key = "%{d}/%{s}.key"\n  selector = "sel1"\n}\n', 'if header :contains "Subject" "script" { ec_dkim_sign; }');
    expect(warnings).toEqual([SIGNS_ALL]);
    await send(t, 'joe@example.org', 'plain');
    await send(t, 'joe@example.org', 'script');
    await send(t, 'joe@nokey.test', 'nokey');
    expect(await verify(await stored(t, 'plain'))).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
    expect(await verify(await stored(t, 'script'))).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
    expect(await stored(t, 'nokey')).not.toContain('DKIM-Signature');
  });

  it('with sign_condition, signs only a message whose context holds that variable', async () => {
    const { t, warnings } = await configured('opendkim {\n  key = "%{d}/%{s}.key"\n  selector = "sel1"\n  sign_condition = "outbound"\n}\n', 'if header :contains "Subject" "out" { vctx_mess_set "outbound" "yes"; }');
    expect(warnings).toEqual([]);
    await send(t, 'joe@example.org', 'going out');
    await send(t, 'joe@example.org', 'staying in');
    expect(await verify(await stored(t, 'going out'))).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
    expect(await stored(t, 'staying in')).not.toContain('DKIM-Signature');
  });

  it('opendkim_sign = false signs only what a script asks for', async () => {
    const { t, warnings } = await configured('opendkim_sign = false\nopendkim {\n  key = "%{d}/%{s}.key"\n  selector = "sel1"\n}\n', 'keep;');
    expect(warnings).toEqual([]);
    await send(t, 'joe@example.org', 'plain');
    expect(await stored(t, 'plain')).not.toContain('DKIM-Signature');
  });
});

describe('dkim_domain scopes', () => {
  it("sign a domain's mail with its own selector and parent signing domain (4/modules/opendkim.md's example), other mail with the scope's", async () => {
    const conf = path.join(keys, 'ecelerity.conf');
    const text = 'opendkim {\n  key = "%{d}/%{s}.key"\n  selector = "sel1"\n  dkim_domain "Corp.Example.org" {\n    selector = "corpsel"\n    base_domain = "example.org"\n    header_canon = "relaxed"\n    pos_keycache_ttl = 300\n  }\n}\n';
    const r = parseConfigText(text, conf);
    expect(r.diagnostics.map((d) => `${d.severity}: ${d.message}`)).toEqual([
      `warning: ${SIGNS_ALL}`,
      "warning: Momentum's option 'pos_keycache_ttl' in dkim_domain \"Corp.Example.org\" has no effect in smtp-cbv: ignored",
    ]);
    const services = createMomentumServices(r.config!);
    cleanups.push(async () => services.close());
    const t = await serve('ec_dkim_sign;', services);
    await sendMail(await t.client(), 'joe@corp.example.org', ['bob@here.test'], MESSAGE.replace('joe@example.org', 'joe@CORP.example.org'));
    await sendMail(await t.client(), 'joe@example.org', ['bob@here.test'], MESSAGE);
    const stored = (await t.spooled()).map((m) => m.message);
    const corp = stored.find((m) => m.includes('CORP.example.org'))!;
    expect(corp).toMatch(/c=relaxed\/simple; d=example.org;/);
    expect(await verify(corp)).toEqual([{ domain: 'example.org', selector: 'corpsel', result: 'pass' }]);
    const plain = stored.find((m) => !m.includes('CORP.example.org'))!;
    expect(await verify(plain)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
  });

  it('are checked when they load, and take only a domain name', () => {
    const r = parseConfigText('opendkim {\n  dkim_domain "x.test" {\n    selector = "bad selector"\n  }\n  dkim_domain "not a domain" { }\n}\n', path.join(keys, 'x.conf'));
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.line}:${d.column}`)).toEqual(['3:16', '5:15']);
  });
});

describe('the opendkim scope checked when it loads', () => {
  it('a headerlist without From, a selector or signing domain that is not one: errors at their file:line:col, as in a script', () => {
    const conf = path.join(keys, 'bad.conf');
    const r = parseConfigText('opendkim {\n  headerlist = ( "To" "Subject" )\n  selector = "bad selector"\n  signing_domain = "-x-"\n}\n', conf);
    expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d, conf))).toEqual([
      `${conf}:2:16: error: headerlist: must name From (RFC 6376 5.4)`,
      `${conf}:3:14: error: selector: 'bad selector' is not a DKIM selector (RFC 6376 3.1: dot-separated labels)`,
      `${conf}:4:20: error: signing_domain: '-x-' is not a domain name`,
    ]);
  });
});

describe('a relayed message', () => {
  it('the whole server from its configuration: the message the next hop receives (dot-stuffed on the wire, two recipients in one copy) verifies, and so does the redirect copy', async () => {
    const relay = await startRelayServer('require "copy";\nif header :contains "Subject" "sign" { ec_header_add "X-Relayed" "yes"; ec_dkim_sign; redirect :copy "dave@elsewhere.test"; }', [`opendkim { key = "${keys}/%{d}/%{s}.key" selector = "sel1" header_canon = "relaxed" headerlist = ( "From" "Subject" "X-Relayed" ) }`]);
    cleanups.push(() => relay.stop());
    const body = 'From: joe@example.org\r\nTo: bob@dest.test\r\nSubject: please sign\r\n\r\n..leading dot\r\n...two\r\nend\r\n';
    // Written dot-stuffed as a client sends it (RFC 5321 4.5.2): the message is ".leading dot", "..two".
    expect((await relay.send('joe@example.org', ['bob@dest.test', 'carol@dest.test'], body)).end?.code).toBe(250);
    const [m] = await relay.arrived(relay.gateway, 'bob@dest.test');
    expect(m!.to).toEqual(['bob@dest.test', 'carol@dest.test']);
    expect(m!.data).toMatch(/^Received: [\s\S]*?\r\nDKIM-Signature: [\s\S]*?\r\nX-Relayed: yes\r\nFrom: joe@example.org\r\n/);
    expect(m!.data).toContain('\r\n.leading dot\r\n..two\r\n');
    expect(await verify(m!.data)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
    // The redirect copy is the same signed message under the headers a redirect adds.
    const [copy] = await relay.arrived(relay.gateway, 'dave@elsewhere.test');
    expect(await verify(copy!.data)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
  });
});

describe('through the milter', () => {
  it('the signature goes to the MTA as a field inserted on top; the message with it, as the MTA would write it, verifies', async () => {
    const { front, port } = await startMilter(sievePolicy({ data: '$p = hash_create; hash_set $p "selector" "sel1"; hash_set $p "header_canon" "relaxed";\nec_dkim_sign $p;' }), milterServices({ momentum: { dkim: { keyfile: path.join(keys, '%{d}', '%{s}.key') } } }));
    cleanups.push(() => front.close(0));
    const client = await MilterClient.open(port);
    cleanups.push(async () => client.close());
    await client.negotiate();
    const { eom } = await playTransaction(client, { from: 'joe@example.org', to: ['bob@here.test'], message: MESSAGE });
    expect(eom!.map((r) => r.kind)).toEqual(['insheader', 'continue']);
    const ins = eom![0] as { kind: 'insheader'; index: number; name: string; value: string };
    expect([ins.index, ins.name]).toEqual([0, 'DKIM-Signature']);
    expect(await verify(`${ins.name}:${ins.value}\r\n${MESSAGE}`)).toEqual([{ domain: 'example.org', selector: 'sel1', result: 'pass' }]);
  });
});

describe('ec_dkim_sign parameters at compile time', () => {
  it.each([
    ['$p = hash_create;\nhash_set $p "selectr" "s1";\nec_dkim_sign $p;', "data.siv:2:13: error: ec_dkim_sign: unknown parameter 'selectr'"],
    ['$p = hash_create;\nhash_set $p "header_canon" "loose";\nec_dkim_sign $p;', "data.siv:2:28: error: ec_dkim_sign: header_canon 'loose' is neither simple nor relaxed"],
    ['$p = hash_create;\nhash_set $p "digest" "sha512";\nec_dkim_sign $p;', "data.siv:2:22: error: ec_dkim_sign: digest 'sha512' is neither rsa-sha256 nor rsa-sha1"],
    ['$p = hash_create;\nhash_set $p "keyfile" "/k/%{x}.key";\nec_dkim_sign $p;', "data.siv:2:23: error: ec_dkim_sign: keyfile macro '%{x}' is unknown"],
    ['$p = hash_create;\nhash_set $p "headerlist" "Subject:Date";\nec_dkim_sign $p;', 'data.siv:2:26: error: ec_dkim_sign: headerlist must name From'],
    ['$p = hash_create;\nhash_set $p "keyfile" "keys/%{s}.key";\nec_dkim_sign $p;', "data.siv:2:23: error: ec_dkim_sign: keyfile 'keys/%{s}.key' is not an absolute path"],
    ['$p = hash_create;\nhash_set $p "identity" "joe@example.org";\nec_dkim_sign $p;', 'data.siv:2:13: error: ec_dkim_sign: identity (the i= tag) is not supported'],
    ['ec_dkim_sign "selector";', 'data.siv:1:14: error: ec_dkim_sign: the argument must be a variable holding a hash'],
  ])('%s', (text, error) => {
    const { errors } = compile(text);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(error);
  });

  it('a value made at run time is checked when the script runs; a hash used for something else is not checked', () => {
    expect(compile('$p = hash_create;\nhash_set $p "selector" "${x}";\nec_dkim_sign $p;').errors).toEqual([]);
    expect(compile('$q = hash_create;\nhash_set $q "colour" "blue";\n$p = hash_create;\nhash_set $p "selector" "s";\nec_dkim_sign $p;').errors).toEqual([]);
  });
});
