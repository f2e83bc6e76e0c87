-- 011_webhook_outbox: webhook deliveries waiting to be sent or retried (src/webhooks), so a
-- restart or another process sends them. `seq` orders a task's deliveries; a worker holds a
-- delivery while lease_until is in the future (lease_owner says who may settle it).

CREATE TABLE webhook_deliveries (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  id          TEXT NOT NULL UNIQUE,
  task_id     TEXT NOT NULL,
  tenant      TEXT NOT NULL,
  event       TEXT NOT NULL,
  url         TEXT NOT NULL,
  secret      TEXT,
  task        TEXT NOT NULL,
  data        TEXT NOT NULL,
  body        TEXT,
  attempt     INTEGER NOT NULL DEFAULT 0,
  state       TEXT NOT NULL DEFAULT 'pending',
  next_at     INTEGER NOT NULL,
  lease_owner TEXT,
  lease_until INTEGER,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_task ON webhook_deliveries (task_id, seq) WHERE state = 'pending';
