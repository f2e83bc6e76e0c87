/**
 * Compare-and-set transitions as UPDATEs with their condition in the WHERE clause
 * (`status = ANY($) …`, `RETURNING *`): no read before the write. Under READ COMMITTED an
 * UPDATE that meets a row another transaction is changing waits for it, then re-checks its
 * WHERE on the row as that one left it, so of several concurrent writers (any process) exactly
 * one moves a task out of a status.
 *
 * A run of requests of one shape (the same target, sources, lease check, fence and patch
 * columns; distinct tasks) is one statement: `UPDATE … FROM unnest(<column arrays>)`, one round
 * trip whatever its length (a settle of 50 completions, a claim of 100 tasks). A single
 * request keeps the plain one-row statement. The SET lists are assembled only from the fixed
 * column names below, never from values, and each shape gets its own prepared statement name.
 */
import { sharedQueueOfClaim, type TaskPatch, type TransitionRequest } from '../task-store.ts';

/** Columns a patch may set, in the order statements list them; JSON_COLUMNS hold JSON text. */
const PATCH_KEYS: readonly (keyof TaskPatch)[] = ['attempt', 'started_at', 'finished_at', 'not_before', 'progress', 'result', 'error', 'lease_owner', 'lease_expires_at', 'assignment', 'cancel_reason'];
const JSON_COLUMNS: ReadonlySet<keyof TaskPatch> = new Set(['progress', 'result', 'error', 'assignment']);
/** The array type unnest() reads each patch column's values as. */
const PATCH_TYPES: Readonly<Record<keyof TaskPatch, string>> = {
  attempt: 'int4', started_at: 'int8', finished_at: 'int8', not_before: 'int8', progress: 'text', result: 'text',
  error: 'text', lease_owner: 'text', lease_expires_at: 'int8', assignment: 'text', cancel_reason: 'text',
};

const toJson = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
const patchValue = (r: TransitionRequest, k: keyof TaskPatch): unknown => (JSON_COLUMNS.has(k) ? toJson(r.patch[k]) : r.patch[k]);

export interface TransitionQuery {
  /** Prepared statement name, one per shape (which patch fields, lease check or not). */
  name: string;
  text: string;
  values: unknown[];
}

/** The patch columns `r` sets, in PATCH_KEYS' order, and their bit mask. */
function patchShape(r: TransitionRequest): { keys: (keyof TaskPatch)[]; mask: number } {
  // A bit mask, not a list of column names, names a shape: PostgreSQL cuts names at 63
  // bytes, and a list of column names could make two shapes collide.
  let mask = 0;
  const keys = PATCH_KEYS.filter((k, bit) => r.patch[k] !== undefined && (mask |= 1 << bit) > 0);
  return { keys, mask };
}

const shapeName = (r: TransitionRequest, mask: number): string =>
  `${r.lease_owner !== undefined ? 'l' : 'a'}${r.fence === undefined ? 'u' : sharedQueueOfClaim(r) === undefined ? 'f' : 's'}${mask}`;

/**
 * A node's claim of a task of the shared queue it serves (TransitionRequest.shared_queue):
 * the task moves to the node's executor, its home remembered; a task already the node's keeps
 * its home. SET expressions read the row as it was.
 */
const MOVE_TO_NODE = (fenceExecutor: string, shared: string): string[] => [
  `executor = ${fenceExecutor}`,
  `home_executor = CASE WHEN executor = ${shared} THEN ${shared} ELSE home_executor END`,
];

/**
 * What requests must share to go in one batched statement: the statement (lease check, fence,
 * patch columns), its target, its allowed sources and how many events each appends.
 */
export const transitionShape = (r: TransitionRequest, from: readonly string[], events: number): string =>
  `${shapeName(r, patchShape(r).mask)}|${r.to}|${from.join(',')}|${events}`;

/** The UPDATE for `r`, allowed only from `from`, moving last_seq by `events` (the state event included). */
export function transitionQuery(r: TransitionRequest, from: readonly string[], events: number): TransitionQuery {
  const { keys, mask } = patchShape(r);
  // $1 to, $2 now, $3 events, $4 id, $5 sources, [lease owner], [fence executor], then the patch values.
  const values: unknown[] = [r.to, r.now, events, r.id, from];
  const where = [`id = $4`, `status = ANY($5::text[])`];
  if (r.lease_owner !== undefined) where.push(`lease_owner = $${values.push(r.lease_owner)}`);
  const sets = ['status = $1', 'updated_at = $2', 'last_seq = last_seq + $3'];
  // A fenced write (its epoch was checked in this transaction) touches only its executor's
  // tasks, and a node's claim those of the shared queue it serves too.
  const shared = sharedQueueOfClaim(r);
  if (r.fence !== undefined) {
    const own = `$${values.push(r.fence.executor)}`;
    if (shared === undefined) where.push(`executor = ${own}`);
    else {
      const queue = `$${values.push(shared)}::text`;
      where.push(`executor IN (${own}::text, ${queue})`);
      sets.push(...MOVE_TO_NODE(own, queue));
    }
  }
  for (const k of keys) sets.push(`${k} = $${values.push(patchValue(r, k))}`);
  const text = `UPDATE tasks SET ${sets.join(', ')} WHERE ${where.join(' AND ')} RETURNING *`;
  return { name: `lakeray_transition_${shapeName(r, mask)}`, text, values };
}

/**
 * One UPDATE for requests of one shape (transitionShape) on distinct tasks, each allowed only
 * from `from` and moving last_seq by `events`. Returns the rows it changed, in no order.
 */
export function transitionBatchQuery(requests: readonly TransitionRequest[], from: readonly string[], events: number): TransitionQuery {
  const first = requests[0]!;
  const { keys, mask } = patchShape(first);
  // $1 to, $2 sources, $3 events, then one array per column of v: id, now, [lease owner], [fence executor], patch values.
  const values: unknown[] = [first.to, from, events];
  const columns: string[] = [];
  const add = (column: string, type: string, of: (r: TransitionRequest) => unknown): void => {
    columns.push(`$${values.push(requests.map(of))}::${type}[]`);
    names.push(column);
  };
  const names: string[] = [];
  add('id', 'text', (r) => r.id);
  add('now', 'int8', (r) => r.now);
  const where = ['t.id = v.id', 't.status = ANY($2::text[])'];
  if (first.lease_owner !== undefined) {
    add('lease_check', 'text', (r) => r.lease_owner);
    where.push('t.lease_owner = v.lease_check');
  }
  const sets = ['status = $1', 'updated_at = v.now', 'last_seq = t.last_seq + $3'];
  // A fenced write (its epoch was checked in this transaction) touches only its executor's
  // tasks, and a node's claim those of the shared queue it serves too.
  if (first.fence !== undefined) {
    add('fence_executor', 'text', (r) => r.fence!.executor);
    if (sharedQueueOfClaim(first) === undefined) where.push('t.executor = v.fence_executor');
    else {
      add('shared_queue', 'text', (r) => sharedQueueOfClaim(r));
      where.push('t.executor IN (v.fence_executor, v.shared_queue)');
      // v has no column `executor` or `home_executor`: unqualified, they are the task's.
      sets.push(...MOVE_TO_NODE('v.fence_executor', 'v.shared_queue'));
    }
  }
  for (const k of keys) {
    add(k, PATCH_TYPES[k], (r) => patchValue(r, k));
    sets.push(`${k} = v.${k}`);
  }
  const text = `UPDATE tasks t SET ${sets.join(', ')} FROM unnest(${columns.join(', ')}) v(${names.join(', ')}) WHERE ${where.join(' AND ')} RETURNING t.*`;
  return { name: `lakeray_transitions_${shapeName(first, mask)}`, text, values };
}
