-- 020_seed_task_states: task statuses take seed 004's names (§3.2): `queued` is now `pending`
-- and `succeeded` is now `completed`; running, cancelling, failed and cancelled are unchanged.
-- 001's CHECK on tasks.status lists the old names, and SQLite cannot alter a CHECK, so tasks is
-- rebuilt (new table, copy, drop, rename) with every index it had at 019; the partial indexes
-- that named 'queued' now name 'pending'. The runner (migrate.ts) runs migrations with foreign
-- keys off and checks them before it commits, so dropping the old table cascades nowhere: the
-- events rows, which reference tasks by id, stay as they are. Stored `state` events are
-- rewritten too, so a log read from seq 0 speaks one vocabulary, and so are the `status` of
-- `completed` webhook deliveries not yet sent.

CREATE TABLE tasks_new (
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
  status           TEXT    NOT NULL CHECK (status IN ('pending', 'running', 'cancelling', 'completed', 'failed', 'cancelled')),
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
  cancel_reason    TEXT,
  service          TEXT,                        -- JSON ServiceSpec (002)
  webhook_options  TEXT,                        -- JSON WebhookOptions (003)
  home_executor    TEXT                         -- shared queue it was taken from (013)
) STRICT;

INSERT INTO tasks_new (
  id, tenant, name, script, input, output, params, executor, pool, resources, priority, timeout_s, retry,
  webhook, labels, status, attempt, created_at, updated_at, started_at, finished_at, not_before, progress,
  result, error, lease_owner, lease_expires_at, assignment, idempotency_key, body_hash, last_seq, cancel_reason,
  service, webhook_options, home_executor)
SELECT
  id, tenant, name, script, input, output, params, executor, pool, resources, priority, timeout_s, retry,
  webhook, labels,
  CASE status WHEN 'queued' THEN 'pending' WHEN 'succeeded' THEN 'completed' ELSE status END,
  attempt, created_at, updated_at, started_at, finished_at, not_before, progress,
  result, error, lease_owner, lease_expires_at, assignment, idempotency_key, body_hash, last_seq, cancel_reason,
  service, webhook_options, home_executor
FROM tasks;

DROP TABLE tasks;
ALTER TABLE tasks_new RENAME TO tasks;

-- The indexes of tasks at 019 (001, 005, 006, 010, 016), with 'pending' for 'queued'.
CREATE UNIQUE INDEX tasks_idempotency ON tasks (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_dispatch ON tasks (executor, tenant, priority DESC, created_at, id, not_before) WHERE status = 'pending';
CREATE INDEX tasks_tenant_created ON tasks (tenant, created_at, id);
CREATE INDEX tasks_queue_order ON tasks (executor, priority DESC, created_at, id, tenant, not_before) WHERE status = 'pending';
CREATE INDEX tasks_leased ON tasks (status, executor) WHERE status IN ('running', 'cancelling');
CREATE INDEX tasks_tenant_queued ON tasks (tenant) WHERE status = 'pending';
CREATE INDEX tasks_webhook_finished ON tasks (finished_at, id) WHERE webhook IS NOT NULL AND finished_at IS NOT NULL;

UPDATE events
SET data = json_set(data, '$.status', CASE json_extract(data, '$.status') WHEN 'queued' THEN 'pending' ELSE 'completed' END)
WHERE type = 'state' AND json_extract(data, '$.status') IN ('queued', 'succeeded');

UPDATE webhook_deliveries
SET data = json_set(data, '$.status', 'completed')
WHERE event = 'completed' AND state = 'pending' AND json_extract(data, '$.status') = 'succeeded';
