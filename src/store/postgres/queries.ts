/**
 * Named SQL for the PostgreSQL store. Every value is a bound parameter ($n); lists travel as
 * one array parameter (`= ANY($1)`, `unnest(...)`), so no statement text depends on data.
 * Batches are written with one statement per table through `unnest` of column arrays: one
 * round trip for a whole batch of tasks or events, whatever its length.
 */

/** Every column of `tasks` in insert order, with the array type unnest() reads it as. */
export const TASK_COLUMNS = [
  ['id', 'text'], ['tenant', 'text'], ['name', 'text'], ['script', 'text'], ['input', 'text'], ['output', 'text'],
  ['params', 'text'], ['executor', 'text'], ['pool', 'text'], ['resources', 'text'], ['priority', 'float8'],
  ['timeout_s', 'float8'], ['retry', 'text'], ['webhook', 'text'], ['webhook_options', 'text'], ['labels', 'text'],
  ['service', 'text'], ['status', 'text'], ['attempt', 'int4'], ['created_at', 'int8'], ['updated_at', 'int8'],
  ['started_at', 'int8'], ['finished_at', 'int8'], ['not_before', 'int8'], ['progress', 'text'], ['result', 'text'],
  ['error', 'text'], ['lease_owner', 'text'], ['lease_expires_at', 'int8'], ['assignment', 'text'],
  ['idempotency_key', 'text'], ['body_hash', 'text'], ['last_seq', 'int4'], ['cancel_reason', 'text'],
] as const;

export type TaskColumn = (typeof TASK_COLUMNS)[number][0];

/** Statuses that hold a lease. */
const LEASED = `status IN ('running', 'cancelling')`;

/** Dispatch order (the order of tasks_queue_order). */
const DISPATCH_ORDER = 'priority DESC, created_at ASC, id ASC';

const READY = '(not_before IS NULL OR not_before <= $2)';

/** A recursive CTE `name` of the tenants with queued tasks on `executor`, one tasks_dispatch probe per tenant. */
const skipScanTenants = (name: string, executor: string): string => `${name} AS (
      (SELECT tenant FROM tasks WHERE status = 'pending' AND executor = ${executor} ORDER BY tenant LIMIT 1)
      UNION ALL
      SELECT (SELECT n.tenant FROM tasks n WHERE n.status = 'pending' AND n.executor = ${executor} AND n.tenant > p.tenant ORDER BY n.tenant LIMIT 1)
      FROM ${name} p WHERE p.tenant IS NOT NULL
    )`;

/** Each tenant of `tenants`' top $4 ready tasks on `executor`, one ordered index read each. */
const tenantHeads = (tenants: string, executor: string): string => `
      SELECT t.* FROM (SELECT tenant FROM ${tenants} WHERE tenant IS NOT NULL) p CROSS JOIN LATERAL (
        SELECT * FROM tasks
        WHERE status = 'pending' AND executor = ${executor} AND tenant = p.tenant AND ${READY}
        ORDER BY ${DISPATCH_ORDER} LIMIT $4
      ) t`;

export const SQL = {
  /**
   * A batch of tasks; a key already taken (by a writer that committed after our lookup) is
   * skipped, not an error: the caller reads that task back and compares body hashes.
   */
  insertTasks: `
    INSERT INTO tasks (${TASK_COLUMNS.map(([c]) => c).join(', ')})
    SELECT * FROM unnest(${TASK_COLUMNS.map(([, type], i) => `$${i + 1}::${type}[]`).join(', ')})
    ON CONFLICT (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id`,

  /** The tasks holding any of the (tenant, key) pairs. */
  byIdempotencyKeys: `
    SELECT t.* FROM tasks t JOIN unnest($1::text[], $2::text[]) k(tenant, key)
      ON t.tenant = k.tenant AND t.idempotency_key = k.key`,

  insertEvents: `
    INSERT INTO events (task_id, seq, type, ts, data)
    SELECT * FROM unnest($1::text[], $2::int4[], $3::text[], $4::int8[], $5::text[])`,

  /** Wakes dispatchers in every process (delivered at commit): the channel is PostgresQueuedListener's. */
  notifyQueued: `SELECT pg_notify('lakeray_queued', e) FROM unnest($1::text[]) e`,

  getTask: `SELECT * FROM tasks WHERE id = $1`,

  /**
   * appendEvents in one statement (one round trip, autocommit: no BEGIN/COMMIT trips). In
   * order: the events ($1..$6 as columns, numbered by their place); the heads of their logs,
   * locked in id order (concurrent appends queue instead of deadlocking); the fences they
   * carry, share-locked as a fenced transition does (owners.ts); the accepted events (known
   * task, and a current fence of the task's own executor, when fenced) numbered on from each
   * head; then the rows, and each head's new last_seq and newest progress. Returns the
   * accepted events' place, tenant and seq.
   * The heads are read by FOR UPDATE, which waits for a concurrent writer and then sees its
   * committed row; the UPDATE below re-reads that same newest row (READ COMMITTED).
   */
  appendEvents: `
    WITH input AS (
      -- COLLATE "C", as tasks.id: sorting and grouping by task is then a byte compare.
      SELECT task_id COLLATE "C" AS task_id, type, ts, data, fence_executor, fence_epoch, ord
      FROM unnest($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::int4[])
        WITH ORDINALITY AS i(task_id, type, ts, data, fence_executor, fence_epoch, ord)
    ),
    heads AS (
      SELECT id, tenant, executor, last_seq FROM tasks WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE
    ),
    fences AS (
      SELECT executor, epoch FROM executor_owners
      WHERE (executor, epoch) IN (SELECT fence_executor, fence_epoch FROM input WHERE fence_executor IS NOT NULL)
      FOR SHARE
    ),
    accepted AS (
      SELECT i.task_id, h.tenant, i.type, i.ts, i.data, i.ord,
        (h.last_seq + row_number() OVER (PARTITION BY i.task_id ORDER BY i.ord))::int4 AS seq
      FROM input i JOIN heads h ON h.id = i.task_id
      WHERE i.fence_executor IS NULL
        OR (i.fence_executor = h.executor AND (i.fence_executor, i.fence_epoch) IN (SELECT executor, epoch FROM fences))
    ),
    inserted AS (
      INSERT INTO events (task_id, seq, type, ts, data) SELECT task_id, seq, type, ts, data FROM accepted
    ),
    moved AS (
      UPDATE tasks t SET last_seq = a.last_seq, progress = COALESCE(a.progress, t.progress)
      FROM (
        SELECT task_id, max(seq) AS last_seq, (array_agg(data ORDER BY seq DESC) FILTER (WHERE type = 'progress'))[1] AS progress
        FROM accepted GROUP BY task_id
      ) a
      WHERE t.id = a.task_id
    )
    SELECT ord, tenant, seq FROM accepted ORDER BY ord`,

  readEvents: `
    SELECT e.task_id, t.tenant, e.seq, e.type, e.ts, e.data
    FROM events e JOIN tasks t ON t.id = e.task_id
    WHERE e.task_id = $1 AND e.seq > $2
    ORDER BY e.seq LIMIT $3`,

  readEventsOfTypes: `
    SELECT e.task_id, t.tenant, e.seq, e.type, e.ts, e.data
    FROM events e JOIN tasks t ON t.id = e.task_id
    WHERE e.task_id = $1 AND e.seq > $2 AND e.type = ANY($4::text[])
    ORDER BY e.seq LIMIT $3`,

  /** The queue's head ($1 executor, $2 now, $3 limit), on tasks_queue_order. */
  queuedHead: `
    SELECT * FROM tasks
    WHERE status = 'pending' AND executor = $1 AND ${READY}
    ORDER BY ${DISPATCH_ORDER} LIMIT $3`,

  /**
   * Each tenant's top $4 ready tasks, then the overall top $3. The tenants with queued tasks
   * are found by a skip scan of tasks_dispatch (executor, tenant, …): one index probe per
   * tenant (`tenant > the previous one … LIMIT 1`), not a walk of the whole queue; then each
   * tenant's head is one ordered index read of $4 rows (LATERAL). The cost follows tenants ×
   * $4, whatever the depth of the queue (a window over every queued task read the whole queue
   * on each call: ~60 ms at 20,000 queued).
   */
  queuedPerTenant: `
    WITH RECURSIVE tenants AS (
      (SELECT tenant FROM tasks WHERE status = 'pending' AND executor = $1 ORDER BY tenant LIMIT 1)
      UNION ALL
      SELECT (SELECT n.tenant FROM tasks n WHERE n.status = 'pending' AND n.executor = $1 AND n.tenant > p.tenant ORDER BY n.tenant LIMIT 1)
      FROM tenants p WHERE p.tenant IS NOT NULL
    )
    SELECT h.* FROM (SELECT tenant FROM tenants WHERE tenant IS NOT NULL) p CROSS JOIN LATERAL (
      SELECT * FROM tasks
      WHERE status = 'pending' AND executor = $1 AND tenant = p.tenant AND ${READY}
      ORDER BY ${DISPATCH_ORDER} LIMIT $4
    ) h
    ORDER BY h.priority DESC, h.created_at ASC, h.id ASC LIMIT $3`,

  /**
   * queuedHead over a node's executor ($1) and the shared queue it serves ($4): each queue's
   * head by its own ordered index read, merged (a node claims from both, engine/node-queues.ts).
   */
  queuedHeadShared: `
    SELECT * FROM (
      (SELECT * FROM tasks WHERE status = 'pending' AND executor = $1 AND ${READY} ORDER BY ${DISPATCH_ORDER} LIMIT $3)
      UNION ALL
      (SELECT * FROM tasks WHERE status = 'pending' AND executor = $4 AND ${READY} ORDER BY ${DISPATCH_ORDER} LIMIT $3)
    ) q
    ORDER BY ${DISPATCH_ORDER} LIMIT $3`,

  /**
   * queuedPerTenant over a node's executor ($1) and the shared queue it serves ($5): each
   * queue's tenants by its own skip scan and each (queue, tenant)'s head by its own LATERAL
   * index read of $4, as queuedPerTenant does for one; then each tenant's top $4 of both
   * queues (few rows: queues × tenants × $4). Each executor is a plain parameter, not a row of
   * an array: only then does a plan for the actual values (the store runs this one unprepared)
   * read a node's near-empty queue through tasks_dispatch instead of walking the shared
   * queue's tenants.
   */
  queuedPerTenantShared: `
    WITH RECURSIVE ${skipScanTenants('own_tenants', '$1')}, ${skipScanTenants('shared_tenants', '$5')},
    heads AS (
      SELECT h.*, row_number() OVER (PARTITION BY h.tenant ORDER BY h.priority DESC, h.created_at ASC, h.id ASC) AS tenant_rank
      FROM (${tenantHeads('own_tenants', '$1')} UNION ALL ${tenantHeads('shared_tenants', '$5')}) h
    )
    SELECT * FROM heads WHERE tenant_rank <= $4
    ORDER BY ${DISPATCH_ORDER} LIMIT $3`,

  /** For each queued id: how many queued tasks of its executor come first. */
  queuePositions: `
    SELECT w.id, (
      SELECT COUNT(*) FROM tasks o
      WHERE o.status = 'pending' AND o.executor = w.executor
        AND (o.priority > w.priority OR (o.priority = w.priority AND (o.created_at, o.id) < (w.created_at, w.id)))
    ) AS ahead
    FROM tasks w WHERE w.id = ANY($1::text[]) AND w.status = 'pending'`,

  /** A lease with no expiry is stale: nothing would ever renew or expire it. */
  staleLeases: `
    SELECT * FROM tasks
    WHERE ${LEASED} AND (($3 AND lease_owner IS DISTINCT FROM $1) OR lease_expires_at IS NULL OR lease_expires_at < $2)`,

  /** $4: the fence's executor (a fenced write touches only its tasks), or null. */
  renewLeases: `
    UPDATE tasks SET lease_expires_at = $3
    WHERE id = ANY($2::text[]) AND lease_owner = $1 AND ${LEASED} AND ($4::text IS NULL OR executor = $4)`,

  /** Compare-and-set on each lease as it was read (staleLeases): only one instance takes it over. */
  takeLeases: `
    UPDATE tasks t SET lease_owner = $1, lease_expires_at = $2
    FROM unnest($3::text[], $4::text[], $5::int8[]) w(id, owner, expires_at)
    WHERE t.id = w.id AND t.${LEASED}
      AND t.lease_owner IS NOT DISTINCT FROM w.owner AND t.lease_expires_at IS NOT DISTINCT FROM w.expires_at
      AND ($6::text IS NULL OR t.executor = $6)
    RETURNING t.id`,

  recordPlacements: `
    UPDATE tasks t SET assignment = p.assignment
    FROM unnest($2::text[], $3::text[]) p(id, assignment)
    WHERE t.id = p.id AND t.lease_owner = $1 AND t.${LEASED} AND ($4::text IS NULL OR t.executor = $4)`,

  /** Its events go with it (ON DELETE CASCADE). */
  deleteTerminalTask: `DELETE FROM tasks WHERE id = $1 AND status IN ('completed', 'failed', 'cancelled')`,

  counts: `
    SELECT executor, status, COUNT(*)::int AS count FROM tasks
    WHERE status IN ('pending', 'running', 'cancelling')
    GROUP BY executor, status ORDER BY executor, status`,
} as const;
