/** The audit_log table of the SQLite store (store/audit-store.ts). */
import type Database from 'better-sqlite3';
import type { AuditEntry, AuditRecord, AuditStore } from '../audit-store.ts';

type Row = Omit<AuditRecord, 'detail'> & { detail: string | null };

export class SqliteAudit implements AuditStore {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      insert: db.prepare('INSERT INTO audit_log (tenant, ts, key_id, action, target, detail) VALUES (@tenant, @ts, @key_id, @action, @target, @detail)'),
      page: db.prepare<{ tenant: string; before: number; limit: number }, Row>(
        'SELECT id, tenant, ts, key_id, action, target, detail FROM audit_log WHERE tenant = @tenant AND id < @before ORDER BY id DESC LIMIT @limit',
      ),
    };
  }

  async appendAudit(e: AuditEntry): Promise<void> {
    this.q.insert.run({ ...e, detail: e.detail === undefined || e.detail === null ? null : JSON.stringify(e.detail) });
  }

  async listAudit(tenant: string, opts: { before?: number; limit: number }): Promise<AuditRecord[]> {
    const rows = this.q.page.all({ tenant, before: opts.before ?? Number.MAX_SAFE_INTEGER, limit: opts.limit });
    return rows.map((r) => ({ ...r, detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown) }));
  }
}
