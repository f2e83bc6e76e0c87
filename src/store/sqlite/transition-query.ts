/**
 * One compare-and-set transition as a single `UPDATE … WHERE status IN (…) RETURNING *`:
 * no read before the write and no rewrite of columns the patch does not touch. The SQL is
 * assembled only from the fixed column names below (never from values) and prepared once
 * per shape (which patch fields, how many source statuses, lease check or not).
 */
import type Database from 'better-sqlite3';
import type { TaskPatch } from '../task-store.ts';
import { MUTABLE_COLUMNS } from './rows.ts';

/** Patch fields and whether the column holds JSON text. */
const PATCH_COLUMNS: Record<keyof TaskPatch, boolean> = {
  attempt: false,
  started_at: false,
  finished_at: false,
  not_before: false,
  progress: true,
  result: true,
  error: true,
  lease_owner: false,
  lease_expires_at: false,
  assignment: true,
  cancel_reason: false,
};

const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

export class TransitionStatements {
  private readonly cache = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** Returns the updated row's mutable columns, or undefined when the compare-and-set did not apply. */
  /** `events`: how many events the caller appends with this transition (the state event included). */
  run(id: string, from: readonly string[], to: string, now: number, patch: TaskPatch, leaseOwner: string | undefined, events = 1): unknown {
    const keys = (Object.keys(patch) as (keyof TaskPatch)[]).filter((k) => patch[k] !== undefined && k in PATCH_COLUMNS).sort();
    const shape = `${keys.join(',')}|${from.length}|${leaseOwner !== undefined}`;
    let stmt = this.cache.get(shape);
    if (!stmt) {
      const sets = ['status = @to', 'updated_at = @now', 'last_seq = last_seq + @events', ...keys.map((k) => `${k} = @p_${k}`)];
      const froms = from.map((_, i) => `@from${i}`).join(', ');
      const lease = leaseOwner !== undefined ? ' AND lease_owner = @lease_check' : '';
      stmt = this.db.prepare(`UPDATE tasks SET ${sets.join(', ')} WHERE id = @id AND status IN (${froms})${lease} RETURNING ${MUTABLE_COLUMNS.join(', ')}`);
      this.cache.set(shape, stmt);
    }
    const params: Record<string, unknown> = { id, to, now, events };
    from.forEach((f, i) => (params[`from${i}`] = f));
    if (leaseOwner !== undefined) params.lease_check = leaseOwner;
    for (const k of keys) params[`p_${k}`] = PATCH_COLUMNS[k] ? toJson(patch[k]) : patch[k];
    return stmt.get(params);
  }
}
