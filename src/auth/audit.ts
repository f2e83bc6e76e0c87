/**
 * The audit log of admin actions (issue 15 §7): key creation and revocation, quota changes,
 * deletes. Entries belong to the acting caller's tenant, and admins read their own tenant's
 * (GET /api/v1/audit).
 */
import type { Caller } from '../engine/task-service.ts';
import type { AuditStore } from '../store/audit-store.ts';

/** Anything with the task store's audit log (the TaskStore itself, or its `audit`). */
export type AuditSink = AuditStore | { readonly audit: AuditStore };

const sinkOf = (s: AuditSink): AuditStore => ('appendAudit' in s ? s : s.audit);

export async function audit(store: AuditSink, caller: Caller, action: string, target: string, detail?: unknown, now = Date.now()): Promise<void> {
  await sinkOf(store).appendAudit({ tenant: caller.tenant, ts: now, key_id: caller.key_id ?? null, action, target, detail: detail ?? null });
}
