-- 005_webhook_outbox: webhook deliveries waiting to be sent or retried (src/webhooks; the
-- SQLite store's 011). `seq` orders a task's deliveries; a worker holds a delivery while
-- lease_until is in the future (lease_owner says who may settle it).

CREATE TABLE webhook_deliveries (
  seq         BIGSERIAL PRIMARY KEY,
  id          TEXT COLLATE "C" NOT NULL UNIQUE,
  task_id     TEXT COLLATE "C" NOT NULL,
  tenant      TEXT NOT NULL,
  event       TEXT NOT NULL,
  url         TEXT NOT NULL,
  secret      TEXT,
  task        TEXT NOT NULL,
  data        TEXT NOT NULL,
  body        TEXT,
  attempt     INTEGER NOT NULL DEFAULT 0,
  state       TEXT NOT NULL DEFAULT 'pending',
  next_at     BIGINT NOT NULL,
  lease_owner TEXT,
  lease_until BIGINT,
  created_at  BIGINT NOT NULL,
  updated_at  BIGINT NOT NULL
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_task ON webhook_deliveries (task_id, seq) WHERE state = 'pending';
