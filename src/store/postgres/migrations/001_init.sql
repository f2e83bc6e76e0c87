-- 001_init: the PostgreSQL store's schema, equal in content to the SQLite store's migrations
-- 001–007 (tasks, their event logs, deployments). Times are epoch milliseconds (BIGINT); JSON
-- columns hold the JSON text of the matching Task field, exactly as submitted (TEXT, not
-- JSONB: JSONB reorders keys, and clients get back the objects they sent).
-- Keys compare in byte order (COLLATE "C") whatever the database's locale: list() and
-- queued() order by id, and callers compare ids as JavaScript strings do.

CREATE TABLE tasks (
  id               TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  tenant           TEXT COLLATE "C" NOT NULL,
  name             TEXT    NOT NULL,
  script           TEXT    NOT NULL,
  input            TEXT,
  output           TEXT,
  params           TEXT    NOT NULL,            -- JSON object
  executor         TEXT COLLATE "C" NOT NULL,
  pool             TEXT,
  resources        TEXT    NOT NULL,            -- JSON Resources
  priority         DOUBLE PRECISION NOT NULL,
  timeout_s        DOUBLE PRECISION,
  retry            TEXT    NOT NULL,            -- JSON RetryPolicy
  webhook          TEXT,
  webhook_options  TEXT,                        -- JSON WebhookOptions
  labels           TEXT    NOT NULL,            -- JSON object of strings
  service          TEXT,                        -- JSON ServiceSpec
  status           TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'cancelling', 'succeeded', 'failed', 'cancelled')),
  attempt          INTEGER NOT NULL,
  created_at       BIGINT  NOT NULL,
  updated_at       BIGINT  NOT NULL,
  started_at       BIGINT,
  finished_at      BIGINT,
  not_before       BIGINT,
  progress         TEXT,                        -- JSON Progress
  result           TEXT,                        -- JSON, any value
  error            TEXT,                        -- JSON TaskError
  lease_owner      TEXT,
  lease_expires_at BIGINT,
  assignment       TEXT,                        -- JSON Assignment
  idempotency_key  TEXT,
  body_hash        TEXT,                        -- compared when an idempotency key is reused
  last_seq         INTEGER NOT NULL DEFAULT 0,  -- seq of the newest row in events for this task
  cancel_reason    TEXT
);

CREATE TABLE events (
  task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  seq     INTEGER NOT NULL,
  type    TEXT    NOT NULL,
  ts      BIGINT  NOT NULL,
  data    TEXT    NOT NULL,                     -- JSON object
  PRIMARY KEY (task_id, seq)
);

-- Idempotency: a key is unique per tenant; tasks without a key are not constrained.
CREATE UNIQUE INDEX tasks_idempotency ON tasks (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- queued(): per executor and tenant in dispatch order (the per-tenant window reads it in order).
CREATE INDEX tasks_dispatch ON tasks (executor, tenant, priority DESC, created_at, id) WHERE status = 'queued';

-- queued() without a binding quota, queuePositions(), counts() of queued tasks.
CREATE INDEX tasks_queue_order ON tasks (executor, priority DESC, created_at, id) INCLUDE (not_before) WHERE status = 'queued';

-- list(): newest first per tenant, keyset-paginated.
CREATE INDEX tasks_tenant_created ON tasks (tenant, created_at, id);

-- staleLeases(), counts() of leased tasks, lists of active tasks across tenants.
CREATE INDEX tasks_leased ON tasks (status, executor) WHERE status IN ('running', 'cancelling');

CREATE TABLE deployments (
  tenant     TEXT COLLATE "C" NOT NULL,
  name       TEXT COLLATE "C" NOT NULL,
  spec       TEXT NOT NULL,                     -- JSON DeploymentSpec
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, name)
);
