/**
 * One compare-and-set transition as a single `UPDATE … WHERE id = ? AND status IN (…)`: no
 * read before the write and no rewrite of columns the patch does not touch. The SQL is
 * assembled only from the fixed column names below (never from values) and prepared once
 * per shape (which patch fields, how many source statuses, lease check or not).
 *
 * What comes back: when the caller knows the row's mutable columns as they were (`known`),
 * only `last_seq` is returned and the new row is that one with the patch applied; `last_seq`
 * proves nothing else wrote the row in between (every write of this store moves it or drops
 * the caller's copy), else the row is read back. Without a known row, RETURNING gives all the
 * mutable columns. Reading back fourteen columns costs about a third of a claim's UPDATE.
 */
import type Database from 'better-sqlite3';
import type { TaskPatch } from '../task-store.ts';
import { MUTABLE_COLUMNS, type MutableRow } from './rows.ts';

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
  /** RETURNING every mutable column. */
  full: Database.Statement;
  /** RETURNING last_seq only (plucked). */
  seq: Database.Statement;
  /** Patch fields in the statements' placeholder order. */
  keys: (keyof TaskPatch)[];
}

export class TransitionStatements {
  private readonly cache = new Map<string, Shape>();
  private readonly readMutable: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.readMutable = db.prepare(`SELECT ${MUTABLE_COLUMNS.join(', ')} FROM tasks WHERE id = ?`);
  }

  /**
   * Applies the CAS; returns the row's new mutable columns, or undefined when it did not apply.
   * `events`: how many events the caller appends with it (the state event included).
   */
  run(
    id: string,
    from: readonly string[],
    to: string,
    now: number,
    patch: TaskPatch,
    leaseOwner: string | undefined,
    events: number,
    known: MutableRow | undefined,
  ): MutableRow | undefined {
    // The shape key in the patch's own key order: callers build patches the same way each
    // time, so this finds the statements without sorting (hot path: two calls per task).
    let key = `${from.length}|${leaseOwner !== undefined}|`;
    for (const k in patch) if (patch[k as keyof TaskPatch] !== undefined && k in PATCH_COLUMNS) key += `${k},`;
    let shape = this.cache.get(key);
    if (!shape) {
      const keys = (Object.keys(patch) as (keyof TaskPatch)[]).filter((k) => patch[k] !== undefined && k in PATCH_COLUMNS);
      // Placeholders are positional, in this order: to, now, events, patch values, id, sources, lease.
      const sets = ['status = ?', 'updated_at = ?', 'last_seq = last_seq + ?', ...keys.map((k) => `${k} = ?`)];
      const lease = leaseOwner !== undefined ? ' AND lease_owner = ?' : '';
      const sql = `UPDATE tasks SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')})${lease}`;
      shape = { full: this.db.prepare(`${sql} RETURNING ${MUTABLE_COLUMNS.join(', ')}`), seq: this.db.prepare(`${sql} RETURNING last_seq`).pluck(), keys };
      this.cache.set(key, shape);
    }
    const args: unknown[] = [to, now, events];
    for (const k of shape.keys) args.push(PATCH_COLUMNS[k] ? toJson(patch[k]) : patch[k]);
    args.push(id, ...from);
    if (leaseOwner !== undefined) args.push(leaseOwner);
    if (known === undefined) return shape.full.get(args) as MutableRow | undefined;

    const seq = shape.seq.get(args) as number | undefined;
    if (seq === undefined) return undefined;
    if (seq !== known.last_seq + events) return this.readMutable.get(id) as MutableRow; // written by someone else meanwhile
    const row: MutableRow = { ...known, status: to as MutableRow['status'], updated_at: now, last_seq: seq };
    shape.keys.forEach((k, i) => ((row as Record<string, unknown>)[k] = args[3 + i]));
    return row;
  }
}
