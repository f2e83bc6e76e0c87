/**
 * API keys (src/auth/api-key.ts), kept in the task store's database so every server of a
 * cluster sees a key the moment it is created or revoked. Only the secret's hash is stored.
 */
import type { Role } from '../domain/roles.ts';

export interface ApiKeyRecord {
  id: string;
  tenant: string;
  role: Role;
  /** SHA-256 of the secret, hex. */
  hash: string;
  /** A label for people (`keys create --name`); null when none was given. */
  name: string | null;
  created_at: number;
  /** Epoch ms after which the key is refused; null: never expires. */
  expires_at: number | null;
  revoked_at: number | null;
  /** Updated at most about once a minute per key (see auth/authenticator.ts). */
  last_used_at: number | null;
}

export interface KeyStore {
  /** Insert; ids are random, a clash is an error. */
  createKey(record: ApiKeyRecord): Promise<void>;
  getKey(id: string): Promise<ApiKeyRecord | null>;
  /** Every key (of `tenant` when given), newest first. */
  listKeys(tenant?: string): Promise<ApiKeyRecord[]>;
  /** Sets revoked_at once; false when absent (or of another tenant when `tenant` is given) or revoked already. */
  revokeKey(id: string, now: number, tenant?: string): Promise<boolean>;
  touchKey(id: string, now: number): Promise<void>;
}
