/**
 * ec_dkim_sign [<parameters hash>] (sieve-ref-ec-dkim-sign.md): asks for a
 * DKIM signature (RFC 6376) on the message. The parameters are
 * dkim-params.ts's, over the host's defaults (MomentumHost.dkim, the
 * DKIM module's configuration in Momentum).
 *
 * The call checks the parameters and reads the key, so a bad value or a
 * missing or unreadable key is this statement's runtime error (the
 * script's runtime-error handling applies); the signature itself is made
 * when the message is stored, over the message as it is written, after
 * every header edit of the policy (src/session/dkim-signing.ts,
 * docs/sieve-reference.md): Momentum's page warns that a change made after
 * signing breaks the signature.
 *
 * A literal parameter set with hash_set on the variable passed here is
 * checked when the script is compiled (hash.ts records them).
 */
import type { Bound } from '../../sieve/registry.js';
import type { Runtime } from '../../sieve/runtime/runtime.js';
import { headerValues } from '../../sieve/runtime/message.js';
import { parseAddressList } from '../../sieve/runtime/address.js';
import type { ActionDef } from '../../sieve/action.js';
import { argValue, type SieveFunction } from '../functions.js';
import { hostOf } from '../host.js';
import { refOf, toStr } from '../values.js';
import { literalHashSets } from './hash.js';
import { DEFAULT_KEYFILE, dkimParamProblem, dkimRequest, type DkimRequest } from './dkim-params.js';
import { signingKey } from './dkim-keys.js';

/** The action the session turns into a signature when it stores the message (decide.ts). */
export const dkimSignAction: ActionDef = {
  type: 'dkim_sign',
  cancelsImplicitKeep: () => false,
  describe: (a) => {
    const r = a.data?.request as DkimRequest | undefined;
    return `dkim_sign d=${r?.signingDomain ?? ''} s=${r?.selector ?? ''}`;
  },
};

/** A parameter's name in lower case, base_domain as its synonym signing_domain: a script's either overrides a default's either. */
const nameOf = (k: string) => (k.toLowerCase() === 'base_domain' ? 'signing_domain' : k.toLowerCase());

/**
 * The parameters in force: the host's defaults, then those of the
 * responsible domain's `dkim_domain` scope (its own selector, key or
 * parent signing domain), then the script's hash.
 */
function parameters(b: Bound, rt: Runtime): Map<string, string> {
  const out = new Map<string, string>();
  const host = hostOf(rt);
  const domain = host.dkimDomains ? fromDomain(b, rt)?.replace(/\.$/, '') : undefined;
  const own = domain !== undefined ? host.dkimDomains!.get(domain) : undefined;
  for (const [k, v] of [...Object.entries(host.dkim ?? {}), ...Object.entries(own ?? {})]) {
    const problem = dkimParamProblem(k, v);
    if (problem) rt.fail(`ec_dkim_sign: the configured default: ${problem}`, b.node.pos);
    out.set(nameOf(k), v);
  }
  if (!b.args.length) return out;
  const given = argValue(b, rt, 0);
  if (!(given instanceof Map)) return rt.fail('ec_dkim_sign: the argument must be a hash of parameters (made by hash_create)', b.node.pos);
  for (const [k, v] of given) {
    const value = toStr(v);
    const problem = dkimParamProblem(k, value);
    if (problem) rt.fail(`ec_dkim_sign: ${problem}`, b.node.pos);
    out.set(nameOf(k), value.trim());
  }
  return out;
}

/**
 * The domain of the message's first From address: Momentum's responsible
 * domain, and what DMARC aligns with (RFC 7489 3.1.1). In lower case: the
 * sender writes it in any case (RFC 1035 2.3.3), and it names the key's
 * directory (%{d}), where case matters.
 */
function fromDomain(b: Bound, rt: Runtime): string | undefined {
  const from = headerValues(rt.requireMessage(b.node.pos), 'from')[0];
  return from === undefined ? undefined : parseAddressList(from)?.[0]?.domain.toLowerCase() || undefined;
}

/** keybuf: the base64 of a key without its BEGIN/END lines, PKCS#8 or the PKCS#1 that openssl genrsa writes, as PEM. */
function keyFromBuffer(b: Bound, rt: Runtime, text: string): string {
  const { createPrivateKey } = process.getBuiltinModule('node:crypto');
  const der = Buffer.from(text, 'base64');
  for (const type of ['pkcs8', 'pkcs1'] as const) {
    try {
      return createPrivateKey({ key: der, format: 'der', type }).export({ format: 'pem', type: 'pkcs8' }).toString();
    } catch {
      // the other encoding
    }
  }
  return rt.fail('ec_dkim_sign: keybuf is not an RSA private key', b.node.pos);
}

/** The key file, read now or within the last minute (dkim-keys.ts): a missing or unreadable file, or one holding no private key, is the call's runtime error. */
async function keyFromFile(b: Bound, rt: Runtime, file: string, what: string): Promise<string> {
  const key = await signingKey(file, what, rt.now().getTime());
  return 'pem' in key ? key.pem : rt.fail(`ec_dkim_sign: ${key.problem}`, b.node.pos);
}

const dkimSign: SieveFunction = {
  name: 'ec_dkim_sign',
  uses: { command: true },
  needsMessage: true,
  params: [{ name: 'parameters', type: 'any', optional: true }],
  validate(b, v) {
    const a = b.args[0];
    if (!a) return;
    const ref = refOf(a);
    if (!ref) {
      v.error(a.node.pos, 'ec_dkim_sign: the argument must be a variable holding a hash of parameters, such as $params');
      return;
    }
    if (ref.path.length) return;
    // A literal name and value are checked now; a value made at run time, then.
    for (const set of literalHashSets(v, ref.name)) {
      const unknown = dkimParamProblem(set.key, undefined);
      const problem = unknown ?? dkimParamProblem(set.key, set.value);
      if (problem) v.error(unknown ? set.keyPos : set.pos, `ec_dkim_sign: ${problem}`);
    }
  },
  call(b, rt) {
    const p = parameters(b, rt);
    const signingDomain = (p.get('signing_domain') ?? fromDomain(b, rt))?.replace(/\.$/, '');
    if (!signingDomain) return rt.fail('ec_dkim_sign: no signing domain: none configured or given, and the message has no From address', b.node.pos);
    const selector = p.get('selector');
    if (!selector) return rt.fail(`ec_dkim_sign: no selector for ${signingDomain}: give one ("selector") or configure a default`, b.node.pos);
    const request = (privateKey: string): DkimRequest => dkimRequest(p, signingDomain, selector, privateKey);
    const take = (key: string) => void rt.take(b, dkimSignAction, { data: { request: request(key) } });
    const keybuf = p.get('keybuf');
    if (keybuf) return take(keyFromBuffer(b, rt, keybuf));
    const file = (p.get('keyfile') ?? DEFAULT_KEYFILE).replace(/%\{d\}/g, signingDomain).replace(/%\{s\}/g, selector);
    return keyFromFile(b, rt, file, `selector ${selector} of ${signingDomain}`).then(take);
  },
};

export const dkimSignFunctions: SieveFunction[] = [dkimSign];
