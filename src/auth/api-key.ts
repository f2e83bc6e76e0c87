/**
 * API keys: `lrk1.<id>.<secret>`. The id is public (it names the key in `keys ls`, the audit
 * log and revocations); the secret is 32 random bytes, shown once at creation. The store keeps
 * only SHA-256(secret): a high-entropy secret needs no slow hash (nothing to brute-force), and
 * the lookup is by id, so the comparison of hashes is the only secret-dependent step and it
 * runs in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 'lrk1';
const ID = /^k[0-9a-f]{16}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export interface NewApiKey {
  id: string;
  /** What the client sends: `Authorization: Bearer <bearer>`. Never stored. */
  bearer: string;
  /** SHA-256 of the secret, hex: what the store keeps. */
  hash: string;
}

export function generateApiKey(): NewApiKey {
  const id = `k${randomBytes(8).toString('hex')}`;
  const secret = randomBytes(32).toString('base64url');
  return { id, bearer: `${VERSION}.${id}.${secret}`, hash: hashSecret(secret) };
}

/** True for something shaped like an API key (so it is checked as one, not as a task token). */
export const looksLikeApiKey = (bearer: string): boolean => bearer.startsWith(`${VERSION}.`);

/** The id and secret of a well-formed key, or null. */
export function parseApiKey(bearer: string): { id: string; secret: string } | null {
  const parts = bearer.split('.');
  if (parts.length !== 3 || parts[0] !== VERSION) return null;
  const [, id, secret] = parts as [string, string, string];
  return ID.test(id) && SECRET.test(secret) ? { id, secret } : null;
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');

/** Whether `secret` hashes to `storedHash`, compared in constant time. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashSecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

/** A key id as the CLI and API accept it (`keys revoke <id>`). */
export const isKeyId = (id: string): boolean => ID.test(id);
