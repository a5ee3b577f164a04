/**
 * Password hashing with scrypt (RFC 7914) from node:crypto.
 *
 * Stored form: `scrypt$N$r$p$saltB64$hashB64` (16-byte random salt, 32-byte key, standard
 * base64). Parameters are read back from the stored string, so raising them later leaves old
 * hashes verifiable (`needsRehash` tells when to re-hash at the next successful login).
 *
 * Passwords are normalized to Unicode NFC before hashing (as RFC 8265's OpaqueString profile
 * does): the same non-ASCII password typed on different devices may arrive composed or
 * decomposed. Plaintext is never stored or logged, and never appears in an error message.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bounds accepted from a stored hash, so a corrupt row cannot demand unbounded memory/CPU. */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

interface Params {
  N: number;
  r: number;
  p: number;
}

function derive(plain: string, salt: Buffer, keyLen: number, { N, r, p }: Params): Promise<Buffer> {
  // scrypt needs about 128 * N * r bytes; Node's default maxmem (32 MiB) is exactly that for
  // N=2^15, r=8, and OpenSSL wants a little more, so allow twice the need.
  const options: ScryptOptions = { N, r, p, maxmem: 2 * 128 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(plain.normalize('NFC'), salt, keyLen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

export async function hashPassword(plain: string): Promise<string> {
  if (typeof plain !== 'string') throw new TypeError('password must be a string');
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(plain, salt, KEY_BYTES, SCRYPT_PARAMS);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

interface Parsed extends Params {
  salt: Buffer;
  hash: Buffer;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

function parse(stored: string): Parsed | undefined {
  if (typeof stored !== 'string') return undefined;
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [, nS, rS, pS, saltS, hashS] = parts as [string, string, string, string, string, string];
  if (!/^\d{1,8}$/.test(nS) || !/^\d{1,3}$/.test(rS) || !/^\d{1,3}$/.test(pS)) return undefined;
  const N = Number(nS);
  const r = Number(rS);
  const p = Number(pS);
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return undefined;
  if (!B64.test(saltS) || !B64.test(hashS)) return undefined;
  const salt = Buffer.from(saltS, 'base64');
  const hash = Buffer.from(hashS, 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 128) return undefined;
  return { N, r, p, salt, hash };
}

/**
 * True if `plain` matches the stored hash. A malformed or unknown stored value is a mismatch
 * (false), not an exception, so a broken row locks its user out rather than failing requests.
 */
export async function verifyPassword(plain: string, stored: string): Promise<boolean> {
  if (typeof plain !== 'string') return false;
  const parsed = parse(stored);
  if (!parsed) return false;
  const key = await derive(plain, parsed.salt, parsed.hash.length, parsed);
  return key.length === parsed.hash.length && timingSafeEqual(key, parsed.hash);
}

/** True if the stored hash is malformed or uses other parameters than the current ones. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  if (!parsed) return true;
  return (
    parsed.N !== SCRYPT_PARAMS.N ||
    parsed.r !== SCRYPT_PARAMS.r ||
    parsed.p !== SCRYPT_PARAMS.p ||
    parsed.salt.length !== SALT_BYTES ||
    parsed.hash.length !== KEY_BYTES
  );
}
