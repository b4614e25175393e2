// Password hashes in Mosquitto's encoding, so a password file is shared with mosquitto_passwd and
// Mosquitto both ways:
//   $7$<iterations>$<base64 salt>$<base64 hash>   PBKDF2-HMAC-SHA512 (Mosquitto 2 default, the only one we write)
//   $6$<base64 salt>$<base64 hash>                SHA512(password || salt) (Mosquitto 1.x; accepted, never written)
// Hashing is asynchronous (crypto.pbkdf2 runs on libuv's thread pool) so a login never blocks the event loop.
import * as crypto from 'node:crypto';

/** Iterations we write. Mosquitto 2.0 writes 101, later versions 1000; Mosquitto reads the count from
 * the hash, so a higher one costs us nothing in compatibility (about 9 ms per login on a small CPU). */
export const DEFAULT_ITERATIONS = 10_000;
/** Salt and hash sizes mosquitto_passwd uses. */
export const SALT_LENGTH = 12;
export const HASH_LENGTH = 64;
/** Mosquitto stores the count in a C int. */
const MAX_ITERATIONS = 0x7fffffff;

export type PasswordHashType = 'sha512-pbkdf2' | 'sha512';

export interface PasswordHash {
  type: PasswordHashType;
  /** 1 for `sha512` (one digest). */
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

export interface HashPasswordOptions {
  iterations?: number;
  /** Fixed salt, for reproducible vectors in tests; random by default. */
  salt?: Buffer;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeBase64(text: string): Buffer | null {
  if (text.length === 0 || !BASE64.test(text)) return null;
  return Buffer.from(text, 'base64');
}

/** Reads `$7$...` or `$6$...`; null for anything else (plain text, other schemes, bad base64). */
export function parsePasswordHash(encoded: string): PasswordHash | null {
  const parts = encoded.split('$');
  // A leading '$' makes parts[0] empty.
  if (parts[0] !== '') return null;
  if (parts[1] === '7' && parts.length === 5) {
    if (!/^[1-9][0-9]{0,9}$/.test(parts[2])) return null;
    const iterations = Number(parts[2]);
    if (iterations > MAX_ITERATIONS) return null;
    const salt = decodeBase64(parts[3]);
    const hash = decodeBase64(parts[4]);
    if (!salt || !hash || hash.length !== HASH_LENGTH) return null;
    return { type: 'sha512-pbkdf2', iterations, salt, hash };
  }
  if (parts[1] === '6' && parts.length === 4) {
    const salt = decodeBase64(parts[2]);
    const hash = decodeBase64(parts[3]);
    if (!salt || !hash || hash.length !== HASH_LENGTH) return null;
    return { type: 'sha512', iterations: 1, salt, hash };
  }
  return null;
}

export function formatPasswordHash(h: PasswordHash): string {
  return h.type === 'sha512-pbkdf2'
    ? `$7$${h.iterations}$${h.salt.toString('base64')}$${h.hash.toString('base64')}`
    : `$6$${h.salt.toString('base64')}$${h.hash.toString('base64')}`;
}

function passwordBytes(password: string | Buffer): Buffer {
  return typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
}

function pbkdf2(password: Buffer, salt: Buffer, iterations: number, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    crypto.pbkdf2(password, salt, iterations, length, 'sha512', (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function checkIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be an integer from 1 to ${MAX_ITERATIONS}, got ${iterations}`);
  }
}

/** Hashes a password as `$7$<iterations>$<salt>$<hash>` with a fresh random salt. */
export async function hashPassword(password: string | Buffer, options: HashPasswordOptions = {}): Promise<string> {
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  checkIterations(iterations);
  const salt = options.salt ?? crypto.randomBytes(SALT_LENGTH);
  const hash = await pbkdf2(passwordBytes(password), salt, iterations, HASH_LENGTH);
  return formatPasswordHash({ type: 'sha512-pbkdf2', iterations, salt, hash });
}

async function digest(password: Buffer, h: PasswordHash): Promise<Buffer> {
  if (h.type === 'sha512-pbkdf2') return pbkdf2(password, h.salt, h.iterations, h.hash.length);
  return crypto.createHash('sha512').update(password).update(h.salt).digest();
}

/** Compares in constant time; false for a hash we cannot read (never throws on bad input). */
export async function verifyPassword(password: string | Buffer, encoded: string | PasswordHash): Promise<boolean> {
  const h = typeof encoded === 'string' ? parsePasswordHash(encoded) : encoded;
  if (!h || h.hash.length !== HASH_LENGTH) return false;
  const computed = await digest(passwordBytes(password), h);
  return computed.length === h.hash.length && crypto.timingSafeEqual(computed, h.hash);
}

/** Spends about the time of a real check, so an unknown username cannot be told from a wrong password by timing. */
export async function burnVerifyTime(password: string | Buffer, iterations = DEFAULT_ITERATIONS): Promise<void> {
  await pbkdf2(passwordBytes(password), Buffer.alloc(SALT_LENGTH), iterations, HASH_LENGTH);
}
