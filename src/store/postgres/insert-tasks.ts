/**
 * The PostgreSQL store's insert of new tasks (one transaction: idempotency keys, rows, first
 * `state` events, the `lakeray_queued` notification) and the event rows its transactions write.
 * With a tenant's `max_queued` (QueuedQuota) the insert first checks it under the tenant's
 * lock (tenant-quotas.ts), so submissions through several processes cannot together pass it.
 */
import type pg from 'pg';
import { LakerayError } from '../../domain/errors.ts';
import type { TaskEvent } from '../../domain/events.ts';
import type { Task } from '../../domain/task.ts';
import { rowToTask, type TaskRow, taskToParams } from '../rows.ts';
import type { InsertResult, NewTask, QueuedQuota } from '../task-store.ts';
import { SQL, TASK_COLUMNS } from './queries.ts';
import { checkQueuedQuota } from './tenant-quotas.ts';

/** Events to write at the end of a transaction, as unnest() column arrays. */
export class EventRows {
  readonly columns: [string[], number[], string[], number[], string[]] = [[], [], [], [], []];
  add(e: TaskEvent): void {
    const [ids, seqs, types, tss, datas] = this.columns;
    ids.push(e.task_id);
    seqs.push(e.seq);
    types.push(e.type);
    tss.push(e.ts);
    datas.push(JSON.stringify(e.data));
  }
  async flush(client: pg.PoolClient): Promise<void> {
    if (this.columns[0].length > 0) await client.query({ name: 'lakeray_insert_events', text: SQL.insertEvents, values: this.columns });
  }
}

/** Wakes the schedulers of `executors` (delivered at commit). */
export async function notifyQueued(client: pg.PoolClient, executors: readonly string[]): Promise<void> {
  if (executors.length > 0) await client.query({ name: 'lakeray_notify_queued', text: SQL.notifyQueued, values: [[...new Set(executors)]] });
}

const keyOf = (tenant: string, key: string): string => `${tenant}\u0000${key}`;

type Holders = Map<string, { task: Task; body_hash: string | null }>;

/** Inserts `tasks` in the transaction of `client` (see TaskStore.insert). */
export async function insertTasks(client: pg.PoolClient, tasks: NewTask[], now: number, quota?: QueuedQuota): Promise<{ results: InsertResult[]; events: TaskEvent[] }> {
  if (quota !== undefined) await checkQueuedQuota(client, quota, tasks.length);
  const holders = await holdersOf(client, tasks.map((t) => t.task));
  const results: InsertResult[] = [];
  const fresh: { task: Task; body_hash: string | null }[] = [];
  for (const { task, body_hash } of tasks) {
    const key = task.idempotency_key === null ? null : keyOf(task.tenant, task.idempotency_key);
    const holder = key === null ? undefined : holders.get(key);
    if (holder) {
      // Throwing rolls back the whole batch: nothing of this call is written.
      if (holder.body_hash !== body_hash) throw conflict(task.idempotency_key!);
      results.push({ task: holder.task, created: false });
      continue;
    }
    // The state machine has one entry state; anything else is a bug in the caller.
    if (task.status !== 'pending') throw new LakerayError('INTERNAL_ERROR', `new task ${task.id} must be queued, not ${task.status}`);
    const stored: Task = { ...task, last_seq: 1 };
    fresh.push({ task: stored, body_hash });
    results.push({ task: stored, created: true });
    if (key !== null) holders.set(key, { task: stored, body_hash }); // a key repeated later in this batch
  }
  const inserted = await insertRows(client, fresh);
  // A key another process committed after our lookup: that task is the answer (or a conflict).
  const raced = fresh.filter((f) => !inserted.has(f.task.id)).map((f) => f.task);
  if (raced.length > 0) {
    const current = await holdersOf(client, raced);
    for (const [i, r] of results.entries()) {
      if (inserted.has(r.task.id) || (!r.created && !raced.includes(r.task))) continue;
      const holder = current.get(keyOf(r.task.tenant, r.task.idempotency_key!));
      if (!holder || holder.body_hash !== tasks[i]!.body_hash) throw conflict(r.task.idempotency_key!);
      results[i] = { task: holder.task, created: false };
    }
  }
  const events: TaskEvent[] = [];
  const rows = new EventRows();
  for (const { task } of fresh) {
    if (!inserted.has(task.id)) continue;
    const event: TaskEvent = { task_id: task.id, tenant: task.tenant, seq: 1, type: 'state', ts: now, data: { status: 'pending' } };
    rows.add(event);
    events.push(event);
  }
  await rows.flush(client);
  await notifyQueued(client, fresh.filter((f) => inserted.has(f.task.id)).map((f) => f.task.executor));
  return { results, events };
}

/** The stored tasks holding the idempotency keys of `tasks`, by tenant and key. */
async function holdersOf(client: pg.PoolClient, tasks: readonly Task[]): Promise<Holders> {
  const keyed = tasks.filter((t) => t.idempotency_key !== null);
  const out: Holders = new Map();
  if (keyed.length === 0) return out;
  const { rows } = await client.query<TaskRow>({
    name: 'lakeray_by_keys',
    text: SQL.byIdempotencyKeys,
    values: [keyed.map((t) => t.tenant), keyed.map((t) => t.idempotency_key)],
  });
  for (const row of rows) out.set(keyOf(row.tenant, row.idempotency_key!), { task: rowToTask(row), body_hash: row.body_hash });
  return out;
}

/** Inserts the rows (one statement); returns the ids written (a raced idempotency key is skipped). */
async function insertRows(client: pg.PoolClient, fresh: { task: Task; body_hash: string | null }[]): Promise<Set<string>> {
  if (fresh.length === 0) return new Set();
  const params = fresh.map((f) => taskToParams(f.task, f.body_hash));
  const values = TASK_COLUMNS.map(([column]) => params.map((p) => p[column]));
  const { rows } = await client.query<{ id: string }>({ name: 'lakeray_insert_tasks', text: SQL.insertTasks, values });
  return new Set(rows.map((r) => r.id));
}

const conflict = (key: string): LakerayError =>
  new LakerayError('IDEMPOTENCY_CONFLICT', `idempotency key "${key}" was used with a different request body`);
