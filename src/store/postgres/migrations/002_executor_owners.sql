-- 002_executor_owners: which scheduler process owns each executor, under which epoch (the
-- fencing token; the SQLite store's 008). One row per executor that was ever claimed; a
-- release keeps the row (owner NULL) so the next claim moves the epoch on and never reuses one.

CREATE TABLE executor_owners (
  executor   TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  owner      TEXT,
  epoch      INTEGER NOT NULL CHECK (epoch > 0),
  expires_at BIGINT  NOT NULL
);
