-- 005_outbox_and_pins: webhook deliveries waiting to be sent or retried (src/webhooks; the
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

-- What running tasks hold in the lake (src/lake/service/task-pins.ts): the version of each
-- table a task read first (its pin: later reads, and the lineage of what it writes, use it) and
-- the tables it writes. Rows live while the task runs, whichever process serves its lake calls.
CREATE TABLE lake_pins (
  task_id    TEXT COLLATE "C" NOT NULL,
  tenant     TEXT NOT NULL,
  kind       TEXT NOT NULL,
  name       TEXT NOT NULL,
  access     TEXT NOT NULL,
  version    BIGINT,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (task_id, access, kind, name)
);

CREATE INDEX lake_pins_table ON lake_pins (kind, name);
