/** The api_keys table of the SQLite store (store/key-store.ts). */
import type Database from 'better-sqlite3';
import type { ApiKeyRecord, KeyStore } from '../key-store.ts';

const COLUMNS = 'id, tenant, role, hash, name, created_at, expires_at, revoked_at, last_used_at';

export class SqliteKeys implements KeyStore {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      insert: db.prepare(`INSERT INTO api_keys (${COLUMNS}) VALUES (@id, @tenant, @role, @hash, @name, @created_at, @expires_at, @revoked_at, @last_used_at)`),
      get: db.prepare<[string], ApiKeyRecord>(`SELECT ${COLUMNS} FROM api_keys WHERE id = ?`),
      all: db.prepare<[], ApiKeyRecord>(`SELECT ${COLUMNS} FROM api_keys ORDER BY created_at DESC, id`),
      ofTenant: db.prepare<[string], ApiKeyRecord>(`SELECT ${COLUMNS} FROM api_keys WHERE tenant = ? ORDER BY created_at DESC, id`),
      revoke: db.prepare('UPDATE api_keys SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL AND (@tenant IS NULL OR tenant = @tenant)'),
      touch: db.prepare('UPDATE api_keys SET last_used_at = @now WHERE id = @id'),
    };
  }

  async createKey(record: ApiKeyRecord): Promise<void> {
    this.q.insert.run(record);
  }

  async getKey(id: string): Promise<ApiKeyRecord | null> {
    return this.q.get.get(id) ?? null;
  }

  async listKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    return tenant === undefined ? this.q.all.all() : this.q.ofTenant.all(tenant);
  }

  async revokeKey(id: string, now: number, tenant?: string): Promise<boolean> {
    return this.q.revoke.run({ id, now, tenant: tenant ?? null }).changes === 1;
  }

  async touchKey(id: string, now: number): Promise<void> {
    this.q.touch.run({ id, now });
  }
}
