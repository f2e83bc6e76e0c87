/**
 * One compare-and-set transition as a single `UPDATE … WHERE id = ? AND status IN (…)`: no
 * read before the write and no rewrite of columns the patch does not touch. The SQL is
 * assembled only from the fixed column names below (never from values) and prepared once
 * per shape (which patch fields, how many source statuses, lease check or not).
 *
 * What comes back: when the caller knows the row's mutable columns as they are (`known`), the
 * UPDATE returns nothing and the new row is that one with the patch applied, `last_seq` moved
 * by the events appended. The caller vouches for `known`: it runs this inside a write
 * transaction (no other connection can write until it ends) after checking that no other
 * connection committed since it last looked (`PRAGMA data_version`), and every write of the
 * store updates or drops what it knows of a row. Without a known row, RETURNING gives all the
 * mutable columns. A RETURNING clause costs ~0.9 µs an UPDATE here even for one column (its
 * rows go through a temporary table), and reading back fourteen columns about a third of a
 * claim's UPDATE.
 */
import type Database from 'better-sqlite3';
import type { TaskPatch } from '../task-store.ts';
import { MUTABLE_COLUMNS, type MutableRow } from '../rows.ts';

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
  /** Returning nothing: for a row the caller knows. */
  plain: Database.Statement;
  /** Patch fields in the statements' placeholder order. */
  keys: (keyof TaskPatch)[];
}

export class TransitionStatements {
  private readonly cache = new Map<string, Shape>();

  constructor(private readonly db: Database.Database) {}

  /**
   * Applies the CAS; returns the row's new mutable columns, or undefined when it did not apply.
   * `events`: how many events the caller appends with it (the state event included). `known`:
   * the row's mutable columns as they are now, when the caller knows them (see the top).
   */
  run(
    id: string,
    from: readonly string[],
    to: string,
    now: number,
    patch: TaskPatch,
    leaseOwner: string | undefined,
    /** When set (a fenced write), the CAS also requires the task to be of this executor. */
    executor: string | undefined,
    /**
     * With `executor`: a node's claim (TransitionRequest.shared_queue) also applies to a task of
     * this shared queue and moves it to `executor`, remembering its home. The caller forgets
     * what it knew of the task's fixed part (its executor).
     */
    shared: string | undefined,
    events: number,
    known: MutableRow | undefined,
  ): MutableRow | undefined {
    const moves = executor !== undefined && shared !== undefined;
    // The shape key in the patch's own key order: callers build patches the same way each
    // time, so this finds the statements without sorting (hot path: two calls per task).
    let key = `${from.length}|${leaseOwner !== undefined}|${executor !== undefined}|${moves}|`;
    for (const k in patch) if (patch[k as keyof TaskPatch] !== undefined && k in PATCH_COLUMNS) key += `${k},`;
    let shape = this.cache.get(key);
    if (!shape) {
      const keys = (Object.keys(patch) as (keyof TaskPatch)[]).filter((k) => patch[k] !== undefined && k in PATCH_COLUMNS);
      // Placeholders are positional, in this order: to, now, events, patch values, [executor,
      // shared twice: the move], id, sources, lease, executor [, shared].
      const sets = ['status = ?', 'updated_at = ?', 'last_seq = last_seq + ?', ...keys.map((k) => `${k} = ?`)];
      // SET expressions read the row as it was: a task already the node's keeps its home.
      if (moves) sets.push('executor = ?', 'home_executor = CASE WHEN executor = ? THEN ? ELSE home_executor END');
      const lease = leaseOwner !== undefined ? ' AND lease_owner = ?' : '';
      const ofExecutor = executor === undefined ? '' : moves ? ' AND executor IN (?, ?)' : ' AND executor = ?';
      const sql = `UPDATE tasks SET ${sets.join(', ')} WHERE id = ? AND status IN (${from.map(() => '?').join(', ')})${lease}${ofExecutor}`;
      shape = { full: this.db.prepare(`${sql} RETURNING ${MUTABLE_COLUMNS.join(', ')}`), plain: this.db.prepare(sql), keys };
      this.cache.set(key, shape);
    }
    const args: unknown[] = [to, now, events];
    for (const k of shape.keys) args.push(PATCH_COLUMNS[k] ? toJson(patch[k]) : patch[k]);
    if (moves) args.push(executor, shared, shared);
    args.push(id, ...from);
    if (leaseOwner !== undefined) args.push(leaseOwner);
    if (executor !== undefined) args.push(executor);
    if (moves) args.push(shared);
    if (known === undefined) return shape.full.get(args) as MutableRow | undefined;

    if (shape.plain.run(args).changes === 0) return undefined;
    const row: MutableRow = { ...known, status: to as MutableRow['status'], updated_at: now, last_seq: known.last_seq + events };
    shape.keys.forEach((k, i) => ((row as Record<string, unknown>)[k] = args[3 + i]));
    return row;
  }
}
