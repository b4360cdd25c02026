/**
 * A DNS zone for SPF, DKIM and DMARC tests (served by dns-server.ts on
 * loopback), a DKIM key generated for the run, and messages signed with it
 * (mailauth's signer). The client of every test is 127.0.0.1.
 *
 * - example.com: SPF pass for 127.0.0.1, DKIM key `sel`, DMARC p=reject
 * - example.net: SPF -all (fail), DMARC p=reject, no DKIM key
 * - example.org: SPF ~all (softfail), no DMARC record
 * - nospf.example.com: a host with no SPF record (none)
 * - broken.example.com: every TXT query SERVFAILs (temperror for all three)
 * - client.example.com: the HELO name, SPF pass for 127.0.0.1
 */
import { generateKeyPairSync } from 'node:crypto';
import { dkimSign, sealMessage } from 'mailauth';
import { createAuthResolve } from '../../src/auth/dns.js';
import { startDnsServer, type TestDnsServer, type Zone } from './dns-server.js';

export const SELECTOR = 'sel';

export interface AuthDns {
  dns: TestDnsServer;
  privateKey: string;
  resolve: ReturnType<typeof createAuthResolve>;
}

export function keyPair(): { privateKey: string; publicKeyB64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyB64: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
  };
}

export function authZone(publicKeyB64: string): Zone {
  return {
    'example.com': { A: ['127.0.0.1'], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    [`${SELECTOR}._domainkey.example.com`]: { TXT: [`v=DKIM1; k=rsa; p=${publicKeyB64}`] },
    '_dmarc.example.com': { TXT: ['v=DMARC1; p=reject; adkim=r; aspf=r'] },
    'example.net': { TXT: ['v=spf1 -all'] },
    '_dmarc.example.net': { TXT: ['v=DMARC1; p=reject'] },
    'example.org': { TXT: ['v=spf1 ~all'] },
    'nospf.example.com': { A: ['192.0.2.1'] },
    'broken.example.com': { servfail: ['TXT'] },
    '_dmarc.broken.example.com': { servfail: true },
    [`${SELECTOR}._domainkey.broken.example.com`]: { servfail: true },
    'client.example.com': { A: ['127.0.0.1'], TXT: ['v=spf1 a -all'] },
  };
}

export async function startAuthDns(): Promise<AuthDns> {
  const { privateKey, publicKeyB64 } = keyPair();
  const dns = await startDnsServer(authZone(publicKeyB64));
  return { dns, privateKey, resolve: createAuthResolve({ servers: [dns.address], timeoutMs: 500, tries: 1 }) };
}

/** A plain message From `from`. */
export function message(from: string, body = 'hello\r\n', extraHeaders = ''): Buffer {
  return Buffer.from(`${extraHeaders}From: <${from}>\r\nTo: <bob@here.test>\r\nSubject: test\r\nDate: Mon, 30 Nov 2026 12:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\n\r\n${body}`);
}

/** The message with a DKIM-Signature for `domain` on top (RFC 6376 5). */
export async function signed(msg: Buffer, domain: string, privateKey: string): Promise<Buffer> {
  // The time given: else mailauth reads the clock for `t=` twice, and a second turning between them spoils the signature.
  const r = await dkimSign(msg, { canonicalization: 'relaxed/relaxed', signTime: new Date(), signatureData: [{ signingDomain: domain, selector: SELECTOR, privateKey }] } as Parameters<typeof dkimSign>[1]);
  if (r.errors.length || !/DKIM-Signature/i.test(r.signatures)) throw r.errors[0] ?? new Error('mailauth made no signature');
  return Buffer.concat([Buffer.from(r.signatures), msg]);
}

/** The message with one ARC set (RFC 8617 4.1) on top, as a forwarder at example.com would add it. */
export async function arcSealed(msg: Buffer, privateKey: string): Promise<Buffer> {
  const seal = await sealMessage(msg, { signingDomain: 'example.com', selector: SELECTOR, privateKey, authResults: 'forwarder.example.com; spf=pass smtp.mailfrom=example.org', cv: 'none', signTime: new Date() } as Parameters<typeof sealMessage>[1]);
  if (!/ARC-Seal/i.test(seal.toString())) throw new Error('mailauth made no ARC set');
  return Buffer.concat([seal, msg]);
}
