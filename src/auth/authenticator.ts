/**
 * Turns an API key into a caller, or says why not (docs/api.md "Authentication"). Every
 * request reads the key's row, so a revocation holds from the next request on, on every server
 * sharing the store. last_used_at is written at most once a minute per key per process.
 */
import type { Caller } from '../engine/task-service.ts';
import type { KeyStore } from '../store/key-store.ts';
import { parseApiKey, secretMatches } from './api-key.ts';

const TOUCH_EVERY_MS = 60_000;

export type KeyCheck = { ok: true; caller: Required<Caller> } | { ok: false; reason: string };

export class Authenticator {
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly keys: KeyStore,
    private readonly now: () => number = Date.now,
  ) {}

  async check(bearer: string): Promise<KeyCheck> {
    const parsed = parseApiKey(bearer);
    if (!parsed) return { ok: false, reason: 'The bearer token is not a Lakeray API key (lrk1.<id>.<secret>)' };
    const key = await this.keys.getKey(parsed.id);
    // Unknown id and wrong secret read the same: the answer must not confirm that an id exists.
    if (!key || !secretMatches(parsed.secret, key.hash)) return { ok: false, reason: 'Invalid API key' };
    const now = this.now();
    if (key.revoked_at !== null) return { ok: false, reason: `API key ${key.id} was revoked` };
    if (key.expires_at !== null && key.expires_at <= now) return { ok: false, reason: `API key ${key.id} expired at ${new Date(key.expires_at).toISOString()}` };
    if (now - (this.touched.get(key.id) ?? 0) >= TOUCH_EVERY_MS) {
      this.touched.set(key.id, now);
      // Bookkeeping only: a failed write must not fail the request.
      this.keys.touchKey(key.id, now).catch(() => this.touched.delete(key.id));
    }
    return { ok: true, caller: { tenant: key.tenant, role: key.role, key_id: key.id } };
  }
}
