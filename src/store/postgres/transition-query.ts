/**
 * One compare-and-set transition as a single `UPDATE … WHERE id = $ AND status = ANY($) …
 * RETURNING *`: no read before the write. Under READ COMMITTED an UPDATE that meets a row
 * another transaction is changing waits for it, then re-checks its WHERE on the row as that
 * one left it, so of several concurrent writers (any process) exactly one moves a task out of
 * a status. The SET list is assembled only from the fixed column names below, never from
 * values, and each shape gets its own prepared statement name.
 */
import type { TaskPatch, TransitionRequest } from '../task-store.ts';

/** Columns a patch may set, in the order statements list them; JSON_COLUMNS hold JSON text. */
const PATCH_KEYS: readonly (keyof TaskPatch)[] = ['attempt', 'started_at', 'finished_at', 'not_before', 'progress', 'result', 'error', 'lease_owner', 'lease_expires_at', 'assignment', 'cancel_reason'];
const JSON_COLUMNS: ReadonlySet<keyof TaskPatch> = new Set(['progress', 'result', 'error', 'assignment']);

const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

export interface TransitionQuery {
  /** Prepared statement name, one per shape (which patch fields, lease check or not). */
  name: string;
  text: string;
  values: unknown[];
}

/** The UPDATE for `r`, allowed only from `from`, moving last_seq by `events` (the state event included). */
export function transitionQuery(r: TransitionRequest, from: readonly string[], events: number): TransitionQuery {
  // In PATCH_KEYS' order, so a shape has one text and its name is a bit mask (names are
  // cut at 63 bytes by PostgreSQL: a list of column names could make two shapes collide).
  let mask = 0;
  const keys = PATCH_KEYS.filter((k, bit) => r.patch[k] !== undefined && (mask |= 1 << bit) > 0);
  const lease = r.lease_owner !== undefined;
  const fenced = r.fence !== undefined;
  // $1 to, $2 now, $3 events, $4 id, $5 sources, [lease owner], [fence executor], then the patch values.
  const values: unknown[] = [r.to, r.now, events, r.id, from];
  const where = [`id = $4`, `status = ANY($5::text[])`];
  if (lease) where.push(`lease_owner = $${values.push(r.lease_owner)}`);
  // A fenced write (its epoch was checked in this transaction) touches only its executor's tasks.
  if (fenced) where.push(`executor = $${values.push(r.fence!.executor)}`);
  const sets = ['status = $1', 'updated_at = $2', 'last_seq = last_seq + $3'];
  for (const k of keys) {
    values.push(JSON_COLUMNS.has(k) ? toJson(r.patch[k]) : r.patch[k]);
    sets.push(`${k} = $${values.length}`);
  }
  const text = `UPDATE tasks SET ${sets.join(', ')} WHERE ${where.join(' AND ')} RETURNING *`;
  return { name: `lakeray_transition_${lease ? 'l' : 'a'}${fenced ? 'f' : 'u'}${mask}`, text, values };
}
