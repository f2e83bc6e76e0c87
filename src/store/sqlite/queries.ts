/**
 * Named SQL for the SQLite store. Every value is a bound parameter (`@name`); lists travel
 * as one JSON array parameter read with json_each, so no statement text ever depends on data.
 * Each statement is prepared once per connection (see SqliteTaskStore).
 */
import type Database from 'better-sqlite3';

export const SQL = {
  getTask: `SELECT * FROM tasks WHERE id = @id`,

  getByIdempotencyKey: `SELECT * FROM tasks WHERE tenant = @tenant AND idempotency_key = @key`,

  /** Tenant and current last seq of a task, read before appending to its log. */
  eventHead: `SELECT tenant, executor, last_seq FROM tasks WHERE id = @id`,

  setLastSeq: `UPDATE tasks SET last_seq = @last_seq WHERE id = @id`,

  setLastSeqAndProgress: `UPDATE tasks SET last_seq = @last_seq, progress = @progress WHERE id = @id`,

  readEvents: `
    SELECT e.task_id, t.tenant, e.seq, e.type, e.ts, e.data
    FROM events e JOIN tasks t ON t.id = e.task_id
    WHERE e.task_id = @task_id AND e.seq > @after
    ORDER BY e.seq LIMIT @limit`,

  readEventsOfTypes: `
    SELECT e.task_id, t.tenant, e.seq, e.type, e.ts, e.data
    FROM events e JOIN tasks t ON t.id = e.task_id
    WHERE e.task_id = @task_id AND e.seq > @after AND e.type IN (SELECT value FROM json_each(@types))
    ORDER BY e.seq LIMIT @limit`,

  /** Full rows of the tasks among @ids (a JSON array), in no particular order. */
  tasksAmong: `
    SELECT t.* FROM json_each(@ids) j JOIN tasks t ON t.id = j.value`,

  /** The queued tasks among @ids, with their executors. */
  queuedAmong: `
    SELECT t.id, t.executor FROM tasks t JOIN json_each(@ids) w ON t.id = w.value WHERE t.status = 'pending'`,

  /** One executor's queue in dispatch order, ids only (walks tasks_queue_order, no row reads). */
  queueOrder: `
    SELECT id FROM tasks INDEXED BY tasks_queue_order
    WHERE status = 'pending' AND executor = @executor
    ORDER BY priority DESC, created_at, id`,

  queuePosition: `
    SELECT COUNT(*) AS ahead FROM tasks o
    WHERE o.status = 'pending' AND o.executor = @executor
      AND (o.priority > @priority
           OR (o.priority = @priority AND (o.created_at, o.id) < (@created_at, @id)))`,

  /**
   * A lease with no expiry is stale: nothing would ever renew or expire it. The status term
   * names the index's own condition (SQLite uses a partial index only for a WHERE that states
   * it). Unordered on purpose: an ORDER BY would trade the small index for a full scan.
   */
  staleLeases: `
    SELECT * FROM tasks INDEXED BY tasks_leased
    WHERE status IN ('running', 'cancelling')
      AND ((@exclusive AND lease_owner IS NOT @owner) OR lease_expires_at IS NULL OR lease_expires_at < @now)`,

  renewLeases: `
    UPDATE tasks SET lease_expires_at = @expires_at
    WHERE id IN (SELECT value FROM json_each(@ids))
      AND lease_owner = @owner AND status IN ('running', 'cancelling')
      AND (@executor IS NULL OR executor = @executor)`,

  /** Compare-and-set on the lease as it was read (staleLeases): only one instance takes it over. */
  takeLease: `
    UPDATE tasks SET lease_owner = @owner, lease_expires_at = @expires_at
    WHERE id = @id AND status IN ('running', 'cancelling')
      AND lease_owner IS @was_owner AND lease_expires_at IS @was_expires_at
      AND (@executor IS NULL OR executor = @executor)`,

  recordPlacement: `
    UPDATE tasks SET assignment = @assignment
    WHERE id = @id AND lease_owner = @owner AND status IN ('running', 'cancelling')
      AND (@executor IS NULL OR executor = @executor)`,

  deleteEvents: `DELETE FROM events WHERE task_id = @id`,

  deleteTerminalTask: `DELETE FROM tasks WHERE id = @id AND status IN ('completed', 'failed', 'cancelled')`,

  /**
   * Active tasks only, each status from the index that holds it (covering walks): queued ones
   * from tasks_queue_order, leased ones from tasks_leased. Finished tasks are not counted.
   */
  counts: `
    SELECT executor, status, COUNT(*) AS count FROM tasks INDEXED BY tasks_queue_order
    WHERE status = 'pending' GROUP BY executor
    UNION ALL
    SELECT executor, status, COUNT(*) AS count FROM tasks INDEXED BY tasks_leased
    WHERE status IN ('running', 'cancelling') GROUP BY executor, status
    ORDER BY executor, status`,
} as const;

export type QueryName = keyof typeof SQL;

/** The named queries, each prepared once on a connection. */
export type Statements = { [K in QueryName]: Database.Statement };
