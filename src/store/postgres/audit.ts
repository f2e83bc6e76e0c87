/** The audit_log table of the PostgreSQL store (store/audit-store.ts). */
import type { AuditEntry, AuditRecord, AuditStore } from '../audit-store.ts';
import type { Connection } from './connection.ts';

type Row = Omit<AuditRecord, 'detail'> & { detail: string | null };

const SQL = {
  insert: 'INSERT INTO audit_log (tenant, ts, key_id, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)',
  page: 'SELECT id, tenant, ts, key_id, action, target, detail FROM audit_log WHERE tenant = $1 AND id < $2 ORDER BY id DESC LIMIT $3',
} as const;

export class PostgresAudit implements AuditStore {
  constructor(private readonly db: Connection) {}

  async appendAudit(e: AuditEntry): Promise<void> {
    const detail = e.detail === undefined || e.detail === null ? null : JSON.stringify(e.detail);
    await this.db.execute({ name: 'lakeray_audit_insert', text: SQL.insert, values: [e.tenant, e.ts, e.key_id, e.action, e.target, detail] });
  }

  async listAudit(tenant: string, opts: { before?: number; limit: number }): Promise<AuditRecord[]> {
    const values = [tenant, opts.before ?? Number.MAX_SAFE_INTEGER, opts.limit];
    const rows = await this.db.query<Row>({ name: 'lakeray_audit_page', text: SQL.page, values });
    return rows.map((r) => ({ ...r, detail: r.detail === null ? null : (JSON.parse(r.detail) as unknown) }));
  }
}
