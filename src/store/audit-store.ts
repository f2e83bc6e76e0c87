/**
 * The audit log of admin actions (src/auth/audit.ts), in the task store's database. Append
 * only: nothing in Lakeray updates or deletes an entry.
 */

export interface AuditEntry {
  tenant: string;
  ts: number;
  /** The key that acted; null for a keyless loopback caller or the CLI (the operator). */
  key_id: string | null;
  /** e.g. `key.create`, `key.revoke`, `task.delete`, `tenant.quota` */
  action: string;
  /** What it acted on: a key id, a task id, a dataset name… */
  target: string;
  detail: unknown;
}

export interface AuditRecord extends AuditEntry {
  /** Increasing: newer entries have larger ids (the page cursor). */
  id: number;
}

export interface AuditStore {
  appendAudit(entry: AuditEntry): Promise<void>;
  /** The tenant's entries newest first; `before`: only ids below it (the next page). */
  listAudit(tenant: string, opts: { before?: number; limit: number }): Promise<AuditRecord[]>;
}
