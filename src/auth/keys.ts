/**
 * Creating, listing and revoking API keys: what `lakeray keys …` and /api/v1/keys share.
 * Every creation and revocation goes to the audit log.
 */
import { LakerayError } from '../domain/errors.ts';
import type { Role } from '../domain/roles.ts';
import type { Caller } from '../engine/task-service.ts';
import type { AuditStore } from '../store/audit-store.ts';
import type { ApiKeyRecord, KeyStore } from '../store/key-store.ts';
import { generateApiKey } from './api-key.ts';
import { audit } from './audit.ts';

export interface KeyStores {
  keys: KeyStore;
  audit: AuditStore;
}

export interface NewKeyOptions {
  tenant: string;
  role: Role;
  /** Epoch ms; null or absent: never expires. */
  expiresAt?: number | null;
  name?: string | null;
}

/** A key as shown to people and clients: never its hash. */
export type KeyView = Omit<ApiKeyRecord, 'hash'>;

export const keyView = ({ hash: _hash, ...rest }: ApiKeyRecord): KeyView => rest;

/** Tenants are names like task names: they appear in paths, logs and lake namespaces. */
export const TENANT_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Makes a key; `bearer` is the only copy of its secret. `by` is who asked (the audit log's actor). */
export async function createApiKey(stores: KeyStores, by: Caller, opts: NewKeyOptions, now = Date.now()): Promise<{ key: KeyView; bearer: string }> {
  if (!TENANT_NAME.test(opts.tenant)) throw new LakerayError('INVALID_REQUEST', `tenant "${opts.tenant}" must match ${TENANT_NAME.source}`);
  if (opts.expiresAt != null && opts.expiresAt <= now) throw new LakerayError('INVALID_REQUEST', 'expires_at must be in the future');
  const { id, bearer, hash } = generateApiKey();
  const record: ApiKeyRecord = {
    id,
    tenant: opts.tenant,
    role: opts.role,
    hash,
    name: opts.name ?? null,
    created_at: now,
    expires_at: opts.expiresAt ?? null,
    revoked_at: null,
    last_used_at: null,
  };
  await stores.keys.createKey(record);
  await audit(stores.audit, { ...by, tenant: opts.tenant }, 'key.create', id, { role: opts.role, expires_at: record.expires_at, name: record.name }, now);
  return { key: keyView(record), bearer };
}

/** Revokes `id` (of `tenant` when given); false when there is no such live key. */
export async function revokeApiKey(stores: KeyStores, by: Caller, id: string, tenant?: string, now = Date.now()): Promise<boolean> {
  const key = await stores.keys.getKey(id);
  if (!key || (tenant !== undefined && key.tenant !== tenant)) return false;
  if (!(await stores.keys.revokeKey(id, now, tenant))) return false;
  await audit(stores.audit, { ...by, tenant: key.tenant }, 'key.revoke', id, null, now);
  return true;
}

/**
 * `--expires`: a duration from now (`30d`, `12h`, `90m`) or an ISO date. Epoch ms, or an
 * INVALID_REQUEST naming the accepted forms.
 */
export function parseExpiry(text: string, now = Date.now()): number {
  const d = /^(\d{1,6})([mhdw])$/.exec(text);
  if (d) return now + Number(d[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[d[2] as 'm' | 'h' | 'd' | 'w'];
  const t = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(t)) throw new LakerayError('INVALID_REQUEST', `expiry "${text}" is neither a duration (30d, 12h, 90m, 2w) nor an ISO date (2027-01-31)`);
  return t;
}
