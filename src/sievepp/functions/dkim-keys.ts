/**
 * DKIM private keys read from files, for ec_dkim_sign and for the opendkim
 * module's own signing (src/session/dkim-auto.ts): kept by path for
 * KEY_TTL_MS, since a signing site would otherwise read and parse its key
 * for every message (a read on the thread pool and a parse on the event
 * loop). A key replaced on disk is taken within the TTL; a file that cannot
 * be read is not remembered, so it fails each call until it is fixed.
 * Bounded: emptied when full.
 */
const keyCache = new Map<string, { pem: string; until: number }>();
const KEY_TTL_MS = 60_000;
const KEY_CACHE_SIZE = 1000;

/** The key in `file` (PEM), read now or within the last minute; or why it cannot be had, for `what` (a selector and domain). */
export async function signingKey(file: string, what: string, now: number): Promise<{ pem: string } | { problem: string }> {
  const cached = keyCache.get(file);
  if (cached && cached.until > now) return { pem: cached.pem };
  const read = await readKeyFile(file, what);
  if ('problem' in read) return read;
  if (keyCache.size >= KEY_CACHE_SIZE) keyCache.clear();
  keyCache.set(file, { pem: read.pem, until: now + KEY_TTL_MS });
  return read;
}

async function readKeyFile(file: string, what: string): Promise<{ pem: string } | { problem: string }> {
  const { readFile } = process.getBuiltinModule('node:fs/promises');
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { problem: `cannot read the key file '${file}' for ${what}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message}` };
  }
  try {
    process.getBuiltinModule('node:crypto').createPrivateKey(pem);
  } catch {
    return { problem: `the key file '${file}' for ${what} holds no PEM private key` };
  }
  return { pem };
}
