-- 001_init: tasks (the queue IS this table) and their append-only event logs.
-- Times are epoch milliseconds. JSON columns hold the JSON text of the matching Task field.
-- STRICT so a wrong type from a caller fails loudly instead of being stored as text.

CREATE TABLE tasks (
  id               TEXT    NOT NULL PRIMARY KEY,
  tenant           TEXT    NOT NULL,
  name             TEXT    NOT NULL,
  script           TEXT    NOT NULL,
  input            TEXT,
  output           TEXT,
  params           TEXT    NOT NULL,            -- JSON object
  executor         TEXT    NOT NULL,
  pool             TEXT,
  resources        TEXT    NOT NULL,            -- JSON Resources
  priority         REAL    NOT NULL,
  timeout_s        REAL,
  retry            TEXT    NOT NULL,            -- JSON RetryPolicy
  webhook          TEXT,
  labels           TEXT    NOT NULL,            -- JSON object of strings
  status           TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled')),
  attempt          INTEGER NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  started_at       INTEGER,
  finished_at      INTEGER,
  not_before       INTEGER,
  progress         TEXT,                        -- JSON Progress
  result           TEXT,                        -- JSON, any value
  error            TEXT,                        -- JSON TaskError
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  assignment       TEXT,                        -- JSON Assignment
  idempotency_key  TEXT,
  body_hash        TEXT,                        -- compared when an idempotency key is reused
  last_seq         INTEGER NOT NULL DEFAULT 0,  -- seq of the newest row in events for this task
  cancel_reason    TEXT
) STRICT;

-- Events are written far more often than tasks; WITHOUT ROWID keeps each log contiguous
-- in the primary-key b-tree, so reading a log from a seq is one range scan.
CREATE TABLE events (
  task_id TEXT    NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  type    TEXT    NOT NULL,
  ts      INTEGER NOT NULL,
  data    TEXT    NOT NULL,                     -- JSON object
  PRIMARY KEY (task_id, seq)
) STRICT, WITHOUT ROWID;

-- Idempotency: a key is unique per tenant; tasks without a key are not constrained.
CREATE UNIQUE INDEX tasks_idempotency ON tasks (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Dispatch (queued()): per executor, then per tenant, in dispatch order. Covers
-- not_before so each tenant's candidates are picked on the index alone; full rows are read only
-- for the winners. Partial, so finished tasks never make it bigger.
CREATE INDEX tasks_dispatch ON tasks (executor, tenant, priority DESC, created_at, id, not_before) WHERE status = 'queued';

-- queuePosition(): the same order without the tenant split, so "ahead of me" is one range count.
CREATE INDEX tasks_queue_order ON tasks (executor, priority DESC, created_at, id) WHERE status = 'queued';

-- list(): newest first, keyset-paginated, globally and per tenant.
CREATE INDEX tasks_created ON tasks (created_at, id);
CREATE INDEX tasks_tenant_created ON tasks (tenant, created_at, id);

-- staleLeases(): only active tasks hold leases.
CREATE INDEX tasks_leases ON tasks (lease_expires_at) WHERE status IN ('running', 'cancelling');

-- counts(): a covering scan instead of reading every row.
CREATE INDEX tasks_executor_status ON tasks (executor, status);
