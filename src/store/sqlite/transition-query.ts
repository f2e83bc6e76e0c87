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

interface Shape {
  stmt: Database.Statement;
  /** Patch fields in the statement's placeholder order. */
  keys: (keyof TaskPatch)[];
}

export class TransitionStatements {
  private readonly cache = new Map<string, Shape>();

  constructor(private readonly db: Database.Database) {}

  /** Returns the updated row's mutable columns, or undefined when the compare-and-set did not apply. */
  /** `events`: how many events the caller appends with this transition (the state event included). */
  run(id: string, from: readonly string[], to: string, now: number, patch: TaskPatch, leaseOwner: string | undefined, events = 1): unknown {
    // The shape key in the patch's own key order: callers build patches the same way each
    // time, so this finds the statement without sorting (hot path: two calls per task).
    let key = `${from.length}|${leaseOwner !== undefined}|`;
    for (const k in patch) if (patch[k as keyof TaskPatch] !== undefined && k in PATCH_COLUMNS) key += `${k},`;
    let shape = this.cache.get(key);
    if (!shape) {
      const keys = (Object.keys(patch) as (keyof TaskPatch)[]).filter((k) => patch[k] !== undefined && k in PATCH_COLUMNS);
      // Placeholders are positional, in this order: to, now, events, patch values, id, sources, lease.
      const sets = ['status = ?', 'updated_at = ?', 'last_seq = last_seq + ?', ...keys.map((k) => `${k} = ?`)];
      const lease = leaseOwner !== undefined ? ' AND lease_owner = ?' : '';
      const sql = `UPDATE tasks SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')})${lease} RETURNING ${MUTABLE_COLUMNS.join(', ')}`;
      shape = { stmt: this.db.prepare(sql), keys };
      this.cache.set(key, shape);
    }
    const args: unknown[] = [to, now, events];
    for (const k of shape.keys) args.push(PATCH_COLUMNS[k] ? toJson(patch[k]) : patch[k]);
    args.push(id, ...from);
    if (leaseOwner !== undefined) args.push(leaseOwner);
    return shape.stmt.get(args);
  }
}
