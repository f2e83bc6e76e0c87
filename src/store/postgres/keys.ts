/** The api_keys table of the PostgreSQL store (store/key-store.ts). */
import type { ApiKeyRecord, KeyStore } from '../key-store.ts';
import type { Connection } from './connection.ts';

const COLUMNS = 'id, tenant, role, hash, name, created_at, expires_at, revoked_at, last_used_at';

const SQL = {
  insert: `INSERT INTO api_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
  get: `SELECT ${COLUMNS} FROM api_keys WHERE id = $1`,
  all: `SELECT ${COLUMNS} FROM api_keys ORDER BY created_at DESC, id`,
  ofTenant: `SELECT ${COLUMNS} FROM api_keys WHERE tenant = $1 ORDER BY created_at DESC, id`,
  revoke: 'UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL AND ($3::text IS NULL OR tenant = $3)',
  touch: 'UPDATE api_keys SET last_used_at = $2 WHERE id = $1',
} as const;

export class PostgresKeys implements KeyStore {
  constructor(private readonly db: Connection) {}

  async createKey(r: ApiKeyRecord): Promise<void> {
    const values = [r.id, r.tenant, r.role, r.hash, r.name, r.created_at, r.expires_at, r.revoked_at, r.last_used_at];
    await this.db.execute({ name: 'lakeray_keys_insert', text: SQL.insert, values });
  }

  async getKey(id: string): Promise<ApiKeyRecord | null> {
    return (await this.db.query<ApiKeyRecord>({ name: 'lakeray_keys_get', text: SQL.get, values: [id] }))[0] ?? null;
  }

  async listKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    if (tenant === undefined) return this.db.query<ApiKeyRecord>({ name: 'lakeray_keys_all', text: SQL.all });
    return this.db.query<ApiKeyRecord>({ name: 'lakeray_keys_of_tenant', text: SQL.ofTenant, values: [tenant] });
  }

  async revokeKey(id: string, now: number, tenant?: string): Promise<boolean> {
    return (await this.db.execute({ name: 'lakeray_keys_revoke', text: SQL.revoke, values: [id, now, tenant ?? null] })).rowCount === 1;
  }

  async touchKey(id: string, now: number): Promise<void> {
    await this.db.execute({ name: 'lakeray_keys_touch', text: SQL.touch, values: [id, now] });
  }
}
